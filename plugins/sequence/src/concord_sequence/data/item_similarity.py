"""Item-item correlation from co-occurrence in training sequences (CoSeRec's offline ItemCF)."""

from __future__ import annotations

import numpy as np

from concord.errors import DataError
from concord_sequence.data.split import LeaveOneOut

__all__ = ["item_cf_similar_items"]


def item_cf_similar_items(data: LeaveOneOut, top_k: int = 10) -> list[list[int]]:
    r"""For every item, the ``top_k`` items it co-occurs with most, by cosine-normalised counts

    .. math::
        w_{ij} = \frac{|\{u : i, j \in S_u\}|}{\sqrt{|U_i|\,|U_j|}}

    over the *training* part of each sequence (validation and test targets are never read).
    Ties are broken by the smaller item id. Entry ``0`` (padding) is empty.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise DataError(f"top_k must be an integer >= 1, got {top_k!r}")
    lengths = np.maximum(data.lengths - 2, 0)
    pairs_a, pairs_b = [], []
    for u in range(data.n_users):
        seq = np.unique(data.items[data.offsets[u] : data.offsets[u] + lengths[u]])
        if len(seq) < 2:
            continue
        a, b = np.meshgrid(seq, seq, indexing="ij")
        off = a != b
        pairs_a.append(a[off])
        pairs_b.append(b[off])
    out: list[list[int]] = [[] for _ in range(data.n_items + 1)]
    if not pairs_a:
        return out
    a, b = np.concatenate(pairs_a), np.concatenate(pairs_b)
    code = a * (data.n_items + 1) + b
    uniq, counts = np.unique(code, return_counts=True)
    ia, ib = uniq // (data.n_items + 1), uniq % (data.n_items + 1)
    users_of = np.zeros(data.n_items + 1)
    for u in range(data.n_users):
        users_of[np.unique(data.items[data.offsets[u] : data.offsets[u] + lengths[u]])] += 1
    w = counts / np.sqrt(users_of[ia] * users_of[ib])
    order = np.lexsort((ib, -w, ia))
    ia, ib = ia[order], ib[order]
    starts = np.flatnonzero(np.r_[True, ia[1:] != ia[:-1]])
    ends = np.r_[starts[1:], len(ia)]
    for s, e in zip(starts, ends):
        out[int(ia[s])] = ib[s : min(e, s + top_k)].astype(int).tolist()
    return out
