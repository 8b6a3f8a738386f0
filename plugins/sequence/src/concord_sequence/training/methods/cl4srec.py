"""CL4SRec: L_rec plus a contrast of two augmented views."""

from __future__ import annotations

import numpy as np
import torch

from concord_sequence.augment.pair_views import PairViews
from concord_sequence.data.split import LeaveOneOut
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.methods.base import Method
from concord_sequence.training.methods.components import build_augmentations, contrastive_loss

__all__ = ["CL4SRecMethod"]


class CL4SRecMethod(Method):
    r""":math:`\mathcal{L}_{rec} + \lambda \mathcal{L}_{cl}(h^{a_1}, h^{a_2})` (Xie et al. 2022, Eq. 5),
    two distinct augmentations drawn per sequence (``method.augmentations``), :math:`\lambda` =
    ``method.cl_weight``, :math:`\mathcal{L}_{cl}` the ``loss`` section (default: CL4SRec's
    2N-sample InfoNCE)."""

    name = "cl4srec"

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        super().__init__(cfg, model, data, generator, device)
        m = cfg.method
        self.views = PairViews(build_augmentations(m.augmentations, model, data, m.similar_items_top_k))
        self.loss = contrastive_loss(cfg)

    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        v1, v2 = self.views(batch, self.generator)
        rec = self.rec(self.encode(batch), targets)
        cl = self.loss(self.encode(v1), self.encode(v2))
        loss = rec + self.cfg.method.cl_weight * cl
        self.encoder_step(loss)
        return {"loss": float(loss.detach()), "rec": float(rec.detach()), "cl": float(cl.detach())}
