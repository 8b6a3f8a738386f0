r"""Ranking metrics of one held-out target per user, and the rank they are computed from.

**Rank and ties.** With candidate scores :math:`s_j` and target score :math:`s_t`,

.. math::
    \mathrm{rank} = 1 + |\{j \ne t : s_j > s_t\}| + |\{j \ne t : s_j = s_t\}|

-- the target ranks after every candidate scoring strictly higher *and* after every other
candidate with an equal score (pessimistic ties). A model that scores everything equally thus
gets the worst rank, never a free hit. (RecBole ranks with ``torch.topk``, whose order among
equal scores is unspecified; with real-valued scores ties are rare, and on tie-free scores the
two agree exactly.) Excluded candidates (``-inf``) never outrank the target.

**Metrics** (one relevant item, so IDCG = 1), averaged over users:

.. math::
    \mathrm{HR@}k = \mathbb{1}[\mathrm{rank} \le k],\quad
    \mathrm{NDCG@}k = \frac{\mathbb{1}[\mathrm{rank} \le k]}{\log_2(1 + \mathrm{rank})},\quad
    \mathrm{MRR} = \frac{1}{\mathrm{rank}},\quad
    \mathrm{MRR@}k = \frac{\mathbb{1}[\mathrm{rank} \le k]}{\mathrm{rank}}
"""

from __future__ import annotations

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["KS", "metrics_from_ranks", "target_ranks"]

KS: tuple[int, ...] = (5, 10, 20)


def target_ranks(scores: Tensor, target_col: Tensor) -> Tensor:
    """``(B,)`` 1-based pessimistic ranks of column ``target_col[b]`` in row ``b`` of ``scores``
    (``(B, C)``; ``-inf`` marks excluded candidates; the target's own score must be finite)."""
    if scores.dim() != 2 or target_col.shape != scores.shape[:1]:
        raise InputError(f"scores must be (B, C) and target_col (B,), got {tuple(scores.shape)}, {tuple(target_col.shape)}")
    if bool(torch.isnan(scores).any()):
        raise InputError("scores contain NaN; the model diverged")
    t = scores.gather(1, target_col[:, None])
    if not bool(torch.isfinite(t).all()):
        raise InputError("a target's score is not finite (was the target excluded?)")
    higher = (scores > t).sum(dim=1)
    equal = (scores == t).sum(dim=1) - 1
    return 1 + higher + equal


def metrics_from_ranks(ranks: Tensor, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """Mean ``hr@k``, ``ndcg@k``, ``mrr@k`` for each ``k``, and the untruncated ``mrr``."""
    if ranks.numel() == 0:
        raise InputError("no ranks to average")
    r = ranks.double()
    out: dict[str, float] = {}
    for k in ks:
        hit = r <= k
        out[f"hr@{k}"] = float(hit.double().mean())
        out[f"ndcg@{k}"] = float((hit / torch.log2(1 + r)).mean())
        out[f"mrr@{k}"] = float((hit / r).mean())
    out["mrr"] = float((1 / r).mean())
    return out
