"""DuoRec's supervised positives: another training sequence with the same next item."""

from __future__ import annotations

import numpy as np
import torch

from concord_sequence.data.split import LeaveOneOut

__all__ = ["SameTargetSampler"]


class SameTargetSampler:
    """For training sample ``i``, draw uniformly another training sample whose target is the same
    item (DuoRec, Qiu et al. 2022, Sec. 4.3.2); a sample whose target no other sample has gets
    itself back (its positive then differs only by dropout, as in the official code's fallback).
    """

    def __init__(self, data: LeaveOneOut) -> None:
        targets = data.items[data.offsets[data.train_user] + data.train_pos]
        order = np.argsort(targets, kind="stable")
        sorted_t = targets[order]
        starts = np.flatnonzero(np.r_[True, sorted_t[1:] != sorted_t[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        group = np.repeat(np.arange(len(starts)), sizes)
        self._order = order
        self._start = np.empty(len(order), dtype=np.int64)
        self._size = np.empty(len(order), dtype=np.int64)
        self._rank = np.empty(len(order), dtype=np.int64)
        self._start[order] = starts[group]
        self._size[order] = sizes[group]
        self._rank[order] = np.arange(len(order)) - starts[group]
        self.targets = targets

    def sample(self, index: np.ndarray, generator: torch.Generator) -> np.ndarray:
        """Indices (into the training samples) of one same-target partner per ``index``."""
        size = self._size[index]
        u = torch.rand(len(index), generator=generator, dtype=torch.float64, device="cpu").numpy()
        j = np.floor(u * np.maximum(size - 1, 1)).astype(np.int64)
        j = np.where(j >= self._rank[index], j + 1, j)  # skip the sample itself
        partner = self._order[self._start[index] + np.minimum(j, size - 1)]
        return np.where(size > 1, partner, index)
