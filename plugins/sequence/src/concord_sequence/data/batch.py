"""A batch of item sequences: left-aligned, right-padded with 0, with their lengths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["SequenceBatch", "as_batch"]


@dataclass(frozen=True)
class SequenceBatch:
    """``items (B, L)`` int64, row ``b`` holding its ``lengths[b]`` items in positions
    ``0..lengths[b]-1`` and 0 (padding) after them; ``lengths (B,)`` int64, each in ``1..L``.
    """

    items: Tensor
    lengths: Tensor

    def __post_init__(self) -> None:
        items, lengths = self.items, self.lengths
        if not isinstance(items, Tensor) or not isinstance(lengths, Tensor):
            raise InputError("a SequenceBatch holds two tensors: items (B, L) and lengths (B,)")
        if items.dim() != 2 or lengths.dim() != 1 or items.shape[0] != lengths.shape[0]:
            raise InputError(
                f"items must be (B, L) and lengths (B,), got {tuple(items.shape)} and {tuple(lengths.shape)}"
            )
        if items.is_floating_point() or lengths.is_floating_point():
            raise InputError(f"item ids and lengths must be integers, got {items.dtype} and {lengths.dtype}")
        if items.shape[0] and (int(lengths.min()) < 1 or int(lengths.max()) > items.shape[1]):
            raise InputError(
                f"every length must lie in [1, {items.shape[1]}] (the padded width), got "
                f"{int(lengths.min())}..{int(lengths.max())}; empty sequences cannot be encoded"
            )

    @property
    def width(self) -> int:
        return int(self.items.shape[1])

    def valid(self) -> Tensor:
        """``(B, L)`` bool: which positions hold an item."""
        cols = torch.arange(self.width, device=self.items.device)
        return cols[None, :] < self.lengths[:, None]

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "lengths": self.lengths}

    def rows(self) -> list[Tensor]:
        return [self.items[b, : int(n)] for b, n in enumerate(self.lengths)]

    @staticmethod
    def from_lists(seqs: list[list[int]] | list[Tensor], width: int | None = None) -> SequenceBatch:
        seqs = [torch.as_tensor(s, dtype=torch.long) for s in seqs]
        width = max(len(s) for s in seqs) if width is None else width
        items = torch.zeros(len(seqs), width, dtype=torch.long)
        for b, s in enumerate(seqs):
            items[b, : len(s)] = s[-width:] if len(s) > width else s
        lengths = torch.tensor([min(len(s), width) for s in seqs], dtype=torch.long)
        return SequenceBatch(items, lengths)


def as_batch(x: Any) -> tuple[SequenceBatch, bool]:
    """A :class:`SequenceBatch` from ``x`` (a batch, or one 1-D sequence); and whether ``x`` was
    a single sequence (so the result is turned back into one)."""
    if isinstance(x, SequenceBatch):
        return x, False
    if isinstance(x, Tensor):
        if x.dim() != 1:
            raise InputError(
                f"a single sequence is a 1-D tensor of item ids, got shape {tuple(x.shape)}; "
                "pass a SequenceBatch for a batch"
            )
        if x.is_floating_point():
            raise InputError(f"item ids must be integers, got {x.dtype}")
        if x.shape[0] == 0:
            raise InputError("cannot augment an empty sequence")
        return SequenceBatch(x[None, :].long(), torch.tensor([x.shape[0]], device=x.device)), True
    raise InputError(f"expected a SequenceBatch or a 1-D tensor of item ids, got {type(x).__name__}")
