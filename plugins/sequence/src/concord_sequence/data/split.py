"""Leave-one-out by time, with training on every prefix of the remaining history.

For a user with items :math:`s_1, \\ldots, s_n` (time order), as in SASRec (Kang & McAuley
2018, Sec. IV-A), S3Rec, CL4SRec, DuoRec and MCLRec:

* test: input :math:`s_{1..n-1}`, target :math:`s_n`;
* validation: input :math:`s_{1..n-2}`, target :math:`s_{n-1}`;
* training: for :math:`t = 2, \\ldots, n-2`, input :math:`s_{1..t-1}`, target :math:`s_t`
  (every prefix of :math:`s_{1..n-2}`; the validation and test targets are never a training
  target, and the test target never appears in any input but the test one).

Inputs keep their last ``max_len`` items, left-aligned and right-padded with 0 (RecBole's layout:
position ``j`` of the input holds the ``j``-th kept item).

A user needs at least 3 items (one input item, the validation and the test target). Users with
fewer are an error by default, or dropped and reported with ``short_users="drop"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from concord.errors import DataError
from concord_sequence.data.interactions import Interactions

__all__ = ["MIN_ITEMS", "LeaveOneOut", "leave_one_out"]

MIN_ITEMS = 3


@dataclass
class LeaveOneOut:
    """Every user's sequence (flat), and the samples of the three splits as (user, position).

    A sample ``(u, t)`` has input ``seq_u[:t]`` (its last ``max_len`` items) and target
    ``seq_u[t]``.
    """

    items: np.ndarray  # (n_interactions,) item ids 1..n_items, users concatenated
    offsets: np.ndarray  # (n_users + 1,)
    n_items: int
    max_len: int
    train_user: np.ndarray
    train_pos: np.ndarray
    dropped_users: int = 0

    @property
    def n_users(self) -> int:
        return int(len(self.offsets) - 1)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def eval_samples(self, split: Literal["valid", "test"]) -> tuple[np.ndarray, np.ndarray]:
        users = np.arange(self.n_users)
        back = 2 if split == "valid" else 1
        return users, self.lengths - back

    def targets(self, user: np.ndarray, pos: np.ndarray) -> Tensor:
        return torch.from_numpy(self.items[self.offsets[user] + pos])

    def inputs(self, user: np.ndarray, pos: np.ndarray) -> tuple[Tensor, Tensor]:
        """Padded inputs ``(B, max_len)`` (left-aligned) and their lengths ``(B,)``."""
        length = np.minimum(pos, self.max_len)
        start = self.offsets[user] + pos - length
        cols = np.arange(self.max_len)
        idx = start[:, None] + cols[None, :]
        valid = cols[None, :] < length[:, None]
        out = np.where(valid, self.items[np.where(valid, idx, 0)], 0)
        return torch.from_numpy(out.astype(np.int64)), torch.from_numpy(length.astype(np.int64))

    def history(self, user: int, pos: int) -> np.ndarray:
        """All items before position ``pos`` of ``user`` (not truncated to ``max_len``)."""
        return self.items[self.offsets[user] : self.offsets[user] + pos]


def leave_one_out(
    data: Interactions, *, max_len: int, short_users: Literal["error", "drop"] = "error"
) -> LeaveOneOut:
    """Split a re-indexed log (users ``0..U-1`` grouped, items ``1..I``; see :func:`reindex`)."""
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise DataError(f"max_len must be an integer >= 1, got {max_len!r}")
    if short_users not in ("error", "drop"):
        raise DataError(f"short_users must be 'error' or 'drop', got {short_users!r}")
    if len(data) == 0:
        raise DataError("no interactions to split")
    user, item = np.asarray(data.user, dtype=np.int64), np.asarray(data.item, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    lengths = np.diff(np.r_[starts, len(user)])
    short = lengths < MIN_ITEMS
    dropped = int(short.sum())
    if dropped and short_users == "error":
        first = int(user[starts[np.flatnonzero(short)[0]]])
        raise DataError(
            f"{dropped} user(s) have fewer than {MIN_ITEMS} items (first: user index {first} with "
            f"{int(lengths[short][0])}); leave-one-out needs an input item, a validation and a test "
            "item. Set data.short_users=drop to drop them (the count is reported), or filter the "
            "data with data.min_user_inter"
        )
    keep_users = ~short
    if not bool(keep_users.any()):
        raise DataError(f"no user has at least {MIN_ITEMS} items; nothing to train or evaluate on")
    keep_rows = np.repeat(keep_users, lengths)
    item = item[keep_rows]
    lengths = lengths[keep_users]
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    # Training samples: positions t = 1 .. n-3 (0-based target index) of each user.
    n_train = np.maximum(lengths - 3, 0)
    train_user = np.repeat(np.arange(len(lengths)), n_train)
    first_of_user = np.repeat(np.r_[0, np.cumsum(n_train)[:-1]], n_train)
    train_pos = np.arange(int(n_train.sum())) - first_of_user + 1
    return LeaveOneOut(
        items=item,
        offsets=offsets,
        n_items=int(item.max()),
        max_len=max_len,
        train_user=train_user.astype(np.int64),
        train_pos=train_pos.astype(np.int64),
        dropped_users=dropped,
    )
