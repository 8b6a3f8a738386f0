"""CL4SRec's two views: two different augmentations, drawn per sequence."""

from __future__ import annotations

import torch

from concord.augment.base import Augmentation
from concord.errors import InputError
from concord_sequence.data.batch import SequenceBatch

__all__ = ["PairViews"]


class PairViews:
    """For each sequence draw an ordered pair of *distinct* augmentations from ``augmentations``
    (uniformly, as DuoRec's / MCLRec's CL4SRec data loaders do with ``random.sample(range(3), 2)``)
    and return the two views.

    Every augmentation is applied to the whole batch (vectorised) and each row takes the output of
    its draw, so the cost is one pass per augmentation, not per sequence. With one augmentation
    both views use it.
    """

    def __init__(self, augmentations: list[Augmentation]) -> None:
        if not augmentations:
            raise InputError("PairViews needs at least one augmentation")
        self.augmentations = list(augmentations)

    def __call__(self, batch: SequenceBatch, generator: torch.Generator | None) -> tuple[SequenceBatch, SequenceBatch]:
        k = len(self.augmentations)
        b = batch.items.shape[0]
        if k == 1:
            first = torch.zeros(b, dtype=torch.long, device="cpu")
            second = first
        else:  # drawn on the CPU (the generator's device); moved to the batch's in _select
            first = torch.randint(0, k, (b,), generator=generator, device="cpu")
            second = (first + torch.randint(1, k, (b,), generator=generator, device="cpu")) % k
        outs = [aug(batch, generator=generator) for aug in self.augmentations]
        return self._select(outs, first, batch), self._select(outs, second, batch)

    @staticmethod
    def _select(outs: list[SequenceBatch], which: torch.Tensor, like: SequenceBatch) -> SequenceBatch:
        which = which.to(like.items.device)
        rows = torch.arange(len(which), device=like.items.device)
        items = torch.stack([o.items for o in outs])[which, rows]
        lengths = torch.stack([o.lengths for o in outs])[which, rows]
        return SequenceBatch(items, lengths)
