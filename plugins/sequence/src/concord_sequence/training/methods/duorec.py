"""DuoRec: L_rec plus a contrast of a dropout view with a same-target sequence."""

from __future__ import annotations

import inspect

import numpy as np
import torch

from concord_sequence.data.same_target import SameTargetSampler
from concord_sequence.data.split import LeaveOneOut
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.methods.base import Method
from concord_sequence.training.methods.components import contrastive_loss

__all__ = ["DuoRecMethod"]


class DuoRecMethod(Method):
    r""":math:`\mathcal{L}_{rec} + \lambda \mathcal{L}_{Reg}(h', h'_s)` (Qiu et al. 2022, Eq. 16):
    :math:`h'` a second dropout pass of the input, :math:`h'_s` a training sequence with the same
    next item (:class:`~concord_sequence.data.same_target.SameTargetSampler`). The ``loss`` is
    called as ``loss(h, h_s)``, or ``loss(h, h_s, targets)`` when its forward takes ``targets``."""

    name = "duorec"

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        super().__init__(cfg, model, data, generator, device)
        self.partners = SameTargetSampler(data)
        self.loss = contrastive_loss(cfg)
        self.loss_takes_targets = "targets" in inspect.signature(self.loss.forward).parameters

    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        partner, _ = self.batch(self.partners.sample(samples, self.generator))
        rec = self.rec(self.encode(batch), targets)
        # model augmentation: the same input under a second dropout mask
        h, h_partner = self.encode(batch), self.encode(partner)
        reg = self.loss(h, h_partner, targets) if self.loss_takes_targets else self.loss(h, h_partner)
        loss = rec + self.cfg.method.cl_weight * reg
        self.encoder_step(loss)
        return {"loss": float(loss.detach()), "rec": float(rec.detach()), "cl": float(reg.detach())}
