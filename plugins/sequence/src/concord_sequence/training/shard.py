"""Which rows of a global training batch this process trains on."""

from __future__ import annotations

import numpy as np

__all__ = ["local_rows"]


def local_rows(global_rows: np.ndarray, rank: int, world_size: int) -> np.ndarray | None:
    """This process's contiguous share of ``global_rows`` (rank order: the shares concatenate to
    the global batch; sizes differ by at most one), or ``None`` when the batch is not trained.

    A batch is trained when it has at least 2 rows (in-batch negatives) and at least one row per
    process, so no process is ever left without work while the others wait in a collective. A
    last batch of an epoch with fewer than ``max(2, world_size)`` rows is therefore dropped, on
    every process alike (at most ``world_size - 1`` of the epoch's samples; the epoch order is
    redrawn every epoch, so no sample is dropped systematically).
    """
    if len(global_rows) < max(2, world_size):
        return None
    return np.array_split(global_rows, world_size)[rank]
