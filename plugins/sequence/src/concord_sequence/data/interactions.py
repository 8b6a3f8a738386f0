"""The in-memory form of an interaction log: one row per (user, item) event, in time order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from concord.errors import DataError

__all__ = ["Interactions"]


@dataclass(frozen=True)
class Interactions:
    """Parallel arrays, one entry per interaction, grouped by user and in time order per user.

    ``user`` and ``item`` hold raw ids (integers or strings) before :func:`reindex` and
    contiguous integers after it (users ``0..U-1``, items ``1..I``; ``0`` is the padding id).

    Args:
        user: ``(n,)`` user ids.
        item: ``(n,)`` item ids.
        source: where the log came from (a path), for messages and the summary.
    """

    user: np.ndarray
    item: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        if self.user.shape != self.item.shape or self.user.ndim != 1:
            raise DataError(
                f"user and item must be 1-D arrays of one length, got {self.user.shape} and {self.item.shape}"
            )

    def __len__(self) -> int:
        return int(self.user.shape[0])

    def sequences(self) -> list[np.ndarray]:
        """The item sequence of every user, in order of first appearance of the user."""
        if len(self) == 0:
            return []
        starts = np.flatnonzero(np.r_[True, self.user[1:] != self.user[:-1]])
        return np.split(self.item, starts[1:])
