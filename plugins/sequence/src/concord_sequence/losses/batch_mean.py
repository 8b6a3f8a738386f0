"""The mean of per-query terms under the ``gather`` rule of :mod:`concord.distributed`."""

from __future__ import annotations

from torch import Tensor

from concord import distributed
from concord.errors import InputError

__all__ = ["batch_mean"]


def batch_mean(local_sum: Tensor, local_count: Tensor | int, *, gather: bool) -> Tensor:
    """``gather=True``: the mean over every process's queries (:func:`concord.distributed.global_mean`:
    every rank reports the global value and keeps the local part of its gradient). ``gather=False``:
    the mean over this process's queries only -- what the loss computes on this rank's batch as if
    it ran alone, whether or not a process group is initialised."""
    if gather:
        return distributed.global_mean(local_sum, local_count)
    if int(local_count) <= 0:
        raise InputError("no query contributes to the loss (the batch is empty)")
    return local_sum / local_count
