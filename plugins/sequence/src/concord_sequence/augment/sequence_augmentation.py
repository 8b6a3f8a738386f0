"""Shared base of the sequence augmentations: batch handling and random position choice."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.augment.base import Augmentation, random_uniform
from concord_sequence.data.batch import SequenceBatch, as_batch

__all__ = ["SequenceAugmentation", "choose_positions", "count"]


def count(ratio: float, lengths: Tensor, *, at_least: int = 0) -> Tensor:
    """``floor(ratio * n)`` per row (the papers' :math:`\\lfloor \\eta |s| \\rfloor`), at least
    ``at_least`` and at most ``n``."""
    k = torch.floor(lengths.double() * ratio + 1e-9).long()
    return torch.minimum(k.clamp_min(at_least), lengths)


def choose_positions(batch: SequenceBatch, k: Tensor, generator: torch.Generator | None) -> Tensor:
    """``(B, L)`` bool: a uniformly random subset of ``k[b]`` valid positions of each row
    (without replacement)."""
    r = random_uniform(tuple(batch.items.shape), generator, batch.items.device)
    r = r.masked_fill(~batch.valid(), 2.0)  # padding never chosen
    ranks = r.argsort(dim=1).argsort(dim=1)
    return ranks < k[:, None]


class SequenceAugmentation(Augmentation):
    """Takes a :class:`SequenceBatch` (or one 1-D sequence of item ids) and returns a new one of
    the same kind; the input is never modified. Subclasses implement :meth:`augment_batch`."""

    def apply(self, x: Any, generator: torch.Generator | None) -> Any:
        batch, single = as_batch(x)
        out = self.augment_batch(batch, generator)
        if single:
            return out.items[0, : int(out.lengths[0])].clone()
        return out

    def augment_batch(self, batch: SequenceBatch, generator: torch.Generator | None) -> SequenceBatch:
        raise NotImplementedError
