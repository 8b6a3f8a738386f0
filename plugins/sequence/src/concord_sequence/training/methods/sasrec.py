"""SASRec: the next-item cross-entropy alone."""

from __future__ import annotations

import numpy as np

from concord_sequence.training.methods.base import Method

__all__ = ["SASRecMethod"]


class SASRecMethod(Method):
    r""":math:`\mathcal{L}_{rec}` (Kang & McAuley 2018, trained with the cross-entropy over all items,
    as RecBole's ``loss_type='CE'``)."""

    name = "sasrec"

    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        loss = self.rec(self.encode(batch), targets)
        self.encoder_step(loss)
        return {"loss": float(loss.detach())}
