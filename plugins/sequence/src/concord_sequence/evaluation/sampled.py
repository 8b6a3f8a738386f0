"""Sampled-metric negatives: drawn once from a seed, saved beside the run, reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from concord.errors import DataError
from concord_sequence.data.split import LeaveOneOut

__all__ = ["draw_negatives", "load_or_draw_negatives"]


def draw_negatives(data: LeaveOneOut, n: int, seed: int) -> np.ndarray:
    """``(n_users, n)`` item ids drawn uniformly without replacement from the items each user
    never interacted with (so neither the validation nor the test target is a negative)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise DataError(f"the number of sampled negatives must be an integer >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    out = np.zeros((data.n_users, n), dtype=np.int64)
    for u in range(data.n_users):
        seen = np.unique(data.items[data.offsets[u] : data.offsets[u + 1]])
        if data.n_items - len(seen) < n:
            raise DataError(
                f"user {u} has interacted with {len(seen)} of {data.n_items} items; fewer than "
                f"{n} items are left to sample as negatives"
            )
        picked: list[int] = []
        while len(picked) < n:
            draw = rng.integers(1, data.n_items + 1, size=2 * (n - len(picked)))
            draw = draw[~np.isin(draw, seen)]
            for d in draw:
                if d not in picked:
                    picked.append(int(d))
                    if len(picked) == n:
                        break
        out[u] = picked
    return out


def load_or_draw_negatives(path: Path, data: LeaveOneOut, n: int, seed: int, *, save: bool = True) -> np.ndarray:
    """The negatives saved at ``path`` if there (checked against the data), else drawn (the same
    on every process: they follow from ``seed``) and, with ``save``, saved."""
    if path.exists():
        neg = np.load(path)
        if neg.shape != (data.n_users, n):
            raise DataError(f"{path} holds negatives of shape {neg.shape}, expected {(data.n_users, n)}")
        return neg
    neg = draw_negatives(data, n, seed)
    if not save:
        return neg
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, neg)
    tmp.replace(path)
    return neg
