r""":math:`\mathcal{L}_{rec}`, the next-item cross-entropy every method trains on.

It is a *global* mean (:func:`concord.distributed.global_mean`): on one process the plain batch
mean; under ``torchrun`` each process holds its part of the mean over the global batch, and
summing parameter gradients over processes (:func:`concord.distributed.sum_gradients`) gives
exactly the single-process gradient of the global batch -- the rule of :mod:`concord.distributed`.
"""

from __future__ import annotations

from torch import Tensor
from torch.nn import functional as F

from concord import distributed

__all__ = ["rec_loss"]


def rec_loss(h: Tensor, item_weights: Tensor, targets: Tensor) -> Tensor:
    r"""Cross-entropy of the next item over all items, averaged over the global batch:
    :math:`-\frac{1}{N}\sum_u \log \mathrm{softmax}(h_u E^\top)_{v_u}`. ``item_weights`` is
    ``(n_items, D)`` (row ``j`` = item ``j + 1``), ``targets`` are ids ``1..n_items``."""
    ce = F.cross_entropy(h @ item_weights.T, targets - 1, reduction="sum")
    return distributed.global_mean(ce, int(targets.shape[0]))
