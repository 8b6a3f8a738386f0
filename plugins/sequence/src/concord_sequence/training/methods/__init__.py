"""One class per training method: what a batch costs and how the parameters move.

=========  ==================================================================================
sasrec     :math:`\\mathcal{L}_{rec}` (:class:`SASRecMethod`)
cl4srec    :math:`\\mathcal{L}_{rec} + \\lambda \\mathcal{L}_{cl}(h^{a_1}, h^{a_2})` (:class:`CL4SRecMethod`)
duorec     :math:`\\mathcal{L}_{rec} + \\lambda \\mathcal{L}_{Reg}(h', h'_s)` (:class:`DuoRecMethod`)
mclrec     encoder and learnable augmenters in alternation (:class:`MCLRecMethod`; the exact
           bilevel hypergradient in :mod:`.bilevel`)
=========  ==================================================================================
"""

from __future__ import annotations

import torch

from concord.errors import ConfigError
from concord_sequence.data.split import LeaveOneOut
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.methods.base import Method
from concord_sequence.training.methods.cl4srec import CL4SRecMethod
from concord_sequence.training.methods.duorec import DuoRecMethod
from concord_sequence.training.methods.mclrec import MCLRecMethod
from concord_sequence.training.methods.sasrec import SASRecMethod

__all__ = ["METHODS", "CL4SRecMethod", "DuoRecMethod", "MCLRecMethod", "Method", "SASRecMethod", "build_method"]

METHODS: dict[str, type[Method]] = {cls.name: cls for cls in (SASRecMethod, CL4SRecMethod, DuoRecMethod, MCLRecMethod)}


def build_method(cfg: SequenceConfig, model: SASRec, data: LeaveOneOut, generator: torch.Generator,
                 device: torch.device) -> Method:
    if cfg.method.name not in METHODS:
        raise ConfigError(f"method.name must be one of {sorted(METHODS)}, got {cfg.method.name!r}")
    return METHODS[cfg.method.name](cfg, model, data, generator, device)
