"""The table of correlated items CoSeRec's substitute and insert draw from."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["SimilarItems", "check_similar_items", "similar_items_config"]


def check_similar_items(value: Any) -> list[list[int]]:
    """``similar_items[i]`` lists the items correlated with item ``i`` (best first; may be empty)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(
            "similar_items must be a non-empty list whose entry i lists the items correlated with "
            f"item i (see concord_sequence.data.item_similarity), got {type(value).__name__}"
        )
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, (list, tuple)) or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in row
        ):
            raise InputError(f"similar_items[{i}] must be a list of item ids >= 1, got {row!r}")
        rows.append([int(v) for v in row])
    return rows


def similar_items_config(similar_items: Any, top_k: Any) -> tuple[list[list[int]], int, SimilarItems]:
    """Validate the ``similar_items`` / ``top_k`` arguments substitute and insert share; returns
    the checked table, ``top_k`` and the :class:`SimilarItems` to draw from."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise InputError(f"top_k must be an integer >= 1, got {top_k!r}")
    rows = check_similar_items(similar_items)
    return rows, top_k, SimilarItems(rows, top_k)


class SimilarItems:
    """A padded ``(n_rows, k)`` tensor of the table, and a uniform draw among an item's top-k."""

    def __init__(self, rows: list[list[int]], top_k: int) -> None:
        width = max(1, max((min(len(r), top_k) for r in rows), default=1))
        self.table = torch.zeros(len(rows), width, dtype=torch.long)
        self.counts = torch.zeros(len(rows), dtype=torch.long)
        for i, row in enumerate(rows):
            row = row[:top_k]
            self.table[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            self.counts[i] = len(row)

    def draw(self, items: Tensor, u: Tensor) -> Tensor:
        """For each item id, one of its correlated items (uniform over its top-k, from ``u`` in
        [0, 1)); an item without any (or beyond the table) is returned unchanged."""
        inside = items < self.table.shape[0]
        safe = torch.where(inside, items, torch.zeros_like(items)).cpu()
        n = self.counts[safe]
        col = torch.floor(u.cpu() * n.clamp_min(1).double()).long().clamp_max(self.table.shape[1] - 1)
        pick = self.table[safe, col]
        ok = (n > 0) & inside.cpu()
        return torch.where(ok, pick, items.cpu()).to(items.device)
