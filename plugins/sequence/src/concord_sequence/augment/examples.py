"""Small sequence batches the augmentations' contract examples use."""

from __future__ import annotations

import torch

from concord_sequence.data.batch import SequenceBatch

__all__ = ["example_batch"]


def example_batch(generator: torch.Generator, *, n_items: int = 30, width: int = 10) -> SequenceBatch:
    """Six sequences of lengths 3..width, distinct items per row (so every change is visible)."""
    lengths = torch.tensor([3, 5, width, 7, width, 6])
    items = torch.zeros(len(lengths), width, dtype=torch.long)
    for b, n in enumerate(lengths.tolist()):
        items[b, :n] = torch.randperm(n_items, generator=generator)[:n] + 1
    return SequenceBatch(items, lengths)
