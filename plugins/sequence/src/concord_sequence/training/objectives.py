"""The per-batch objectives of SASRec, CL4SRec, DuoRec and MCLRec.

Every term is a *global* mean (:func:`concord.distributed.global_mean`): on one process it is the
plain batch mean; under ``torchrun`` each process holds the local part of the mean over the
global batch, contrastive terms see every process's representations (the losses' ``gather``),
and summing parameter gradients over processes (:class:`GradientSync`) gives exactly the
single-process gradient of the global batch -- the rule of :mod:`concord.distributed`,
equivalent to DDP's averaging followed by :func:`~concord.distributed.scale_for_ddp`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn import functional as F

from concord import distributed
from concord_sequence.data.batch import SequenceBatch

__all__ = ["GradientSync", "rec_loss"]

Encode = Callable[[SequenceBatch], Tensor]


def rec_loss(h: Tensor, item_weights: Tensor, targets: Tensor) -> Tensor:
    r""":math:`\mathcal{L}_{rec}`: cross-entropy of the next item over all items, averaged over the
    global batch. ``item_weights`` is ``(n_items, D)`` (row ``j`` = item ``j + 1``)."""
    ce = F.cross_entropy(h @ item_weights.T, targets - 1, reduction="sum")
    return distributed.global_mean(ce, int(targets.shape[0]))


class GradientSync:
    """Sum the gradients of ``params`` over processes (no-op on one process)."""

    def __call__(self, params: Iterable[nn.Parameter]) -> None:
        if not distributed.is_distributed():
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n
