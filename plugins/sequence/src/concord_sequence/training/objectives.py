"""The per-batch objectives of SASRec, CL4SRec, DuoRec and MCLRec.

Every term is a *global* mean (:func:`concord.distributed.global_mean`): on one process it is the
plain batch mean; under ``torchrun`` each process holds the local part of the mean over the
global batch, contrastive terms see every process's representations (the losses' ``gather``),
and summing parameter gradients over processes (:func:`concord.distributed.sum_gradients`) gives
exactly the single-process gradient of the global batch -- the rule of :mod:`concord.distributed`,
equivalent to DDP's averaging followed by :func:`~concord.distributed.scale_for_ddp`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor
from torch.nn import functional as F

from concord import distributed
from concord_sequence.data.batch import SequenceBatch

__all__ = ["rec_loss"]

Encode = Callable[[SequenceBatch], Tensor]


def rec_loss(h: Tensor, item_weights: Tensor, targets: Tensor) -> Tensor:
    r""":math:`\mathcal{L}_{rec}`: cross-entropy of the next item over all items, averaged over the
    global batch. ``item_weights`` is ``(n_items, D)`` (row ``j`` = item ``j + 1``)."""
    ce = F.cross_entropy(h @ item_weights.T, targets - 1, reduction="sum")
    return distributed.global_mean(ce, int(targets.shape[0]))
