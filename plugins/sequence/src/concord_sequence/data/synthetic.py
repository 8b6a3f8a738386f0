"""Synthetic interaction logs from a known Markov chain (tests, examples, smoke runs).

Item ``i`` is followed by item ``i % n_items + 1`` with probability ``p_next`` and by a uniformly
random item otherwise, so the stationary distribution is uniform: a popularity ranking is no
better than chance, while a model that learns the chain predicts the next item with probability
about ``p_next``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from concord_sequence.data.interactions import Interactions

__all__ = ["markov_chain_log", "write_user_lines"]


def markov_chain_log(n_users: int = 200, n_items: int = 30, *, min_len: int = 6, max_len: int = 15,
                     p_next: float = 0.8, seed: int = 0) -> Interactions:
    """Users ``1..n_users``, each with a sequence of ``min_len..max_len`` items ``1..n_items``."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(1, n_users + 1):
        n = int(rng.integers(min_len, max_len + 1))
        seq = [int(rng.integers(1, n_items + 1))]
        for _ in range(n - 1):
            seq.append(seq[-1] % n_items + 1 if rng.random() < p_next else int(rng.integers(1, n_items + 1)))
        users += [u] * n
        items += seq
    return Interactions(user=np.asarray(users), item=np.asarray(items), source="markov-chain")


def write_user_lines(path: str | Path, data: Interactions) -> Path:
    """Write ``data`` in the one-line-per-user format (``user item item ...``)."""
    path = Path(path)
    lines = []
    for seq, user in zip(data.sequences(), _user_order(data)):
        lines.append(" ".join(str(v) for v in [user, *seq.tolist()]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _user_order(data: Interactions) -> list:
    starts = np.flatnonzero(np.r_[True, data.user[1:] != data.user[:-1]])
    return data.user[starts].tolist()
