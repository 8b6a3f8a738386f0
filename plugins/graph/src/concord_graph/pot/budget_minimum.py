r"""The worst case of one GCN aggregation over the edge-drop budget.

For a segment :math:`s` (a node :math:`i`, or a pair :math:`(i, j)` of a two-hop path) with
in-entries :math:`e` of values :math:`t_e`, kept weights :math:`\hat{A}'_e \in [a_e, u_e]` and
at most :math:`\delta_s` entries dropped (weight 0), plus a self loop that is never dropped
(:math:`\hat{A}'_{ii} \in [a_{ii}, u_{ii}]`),

.. math::
    \min \sum_e \hat{A}'_e t_e + \hat{A}'_{ii} t_{ii}
    = \sum_e \begin{cases} a_e t_e & t_e \ge 0 \\ u_e t_e & t_e < 0 \end{cases}
      - \operatorname{top}_{\delta_s}\{[a_e t_e]_+\}
      + \begin{cases} a_{ii} t_{ii} & t_{ii} \ge 0 \\ u_{ii} t_{ii} & t_{ii} < 0 \end{cases}:

negative terms take their largest weight, positive ones their smallest, and the
:math:`\delta_s` largest positive terms are dropped (exact: each term is minimised on its own,
and dropping a term changes it from :math:`a_e t_e` to 0). The top-:math:`\delta_s` sums run
per bucket of equal-size segments as one dense ``topk`` (no sort of all entries, no host sync).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Segments", "budget_minimum"]


@dataclass(frozen=True)
class Segments:
    """Entries grouped by segment, in buckets of equal-size segments: bucket ``b`` is the dense
    ``(n_b, d_b)`` matrix ``entries[b]`` of entry ids of the segments ``ids[b]``, each allowed
    ``k[b]`` drops (``kmax[b]`` their maximum, a Python int)."""

    segment: Tensor
    ids: tuple[Tensor, ...]
    entries: tuple[Tensor, ...]
    k: tuple[Tensor, ...]
    kmax: tuple[int, ...]
    num_segments: int

    @classmethod
    def of(cls, segment: Tensor, num_segments: int, k: Tensor) -> Segments:
        """Group entries by ``segment`` ``(M,)``; ``k`` ``(num_segments,)`` drops per segment."""
        order = torch.argsort(segment, stable=True)
        counts = torch.bincount(segment, minlength=num_segments)
        start = torch.cumsum(counts, 0) - counts
        k = k.to(torch.long)
        ids, entries, ks, kmax = [], [], [], []
        for d in torch.unique(counts[counts > 0]).tolist():
            seg = torch.nonzero(counts == d).view(-1)
            kb = torch.clamp(k[seg], max=d)
            top = int(kb.max())
            if top == 0:
                continue  # nothing may be dropped in this bucket
            ids.append(seg)
            entries.append(order[start[seg][:, None] + torch.arange(d, device=segment.device)])
            ks.append(kb)
            kmax.append(top)
        return cls(segment, tuple(ids), tuple(entries), tuple(ks), tuple(kmax), num_segments)

    def top_sum(self, values: Tensor) -> Tensor:
        """Per segment (and column), the sum of its ``k`` largest ``values`` ``(M, C)`` (values
        >= 0) -> ``(num_segments, C)``."""
        out = values.new_zeros((self.num_segments, values.shape[1]))
        for seg, ent, kb, top in zip(self.ids, self.entries, self.k, self.kmax):
            best = values[ent].topk(top, dim=1).values  # (n_b, top, C), largest first
            chosen = torch.arange(top, device=kb.device)[None, :] < kb[:, None]
            out.index_add_(0, seg, (best * chosen[:, :, None].to(best.dtype)).sum(dim=1))
        return out


def budget_minimum(segments: Segments, values: Tensor, lower: Tensor, upper: Tensor, self_values: Tensor,
                   self_lower: Tensor, self_upper: Tensor) -> Tensor:
    """:math:`\\min` of one aggregation over the budget (module docstring), every column alike.

    Shapes:
        values ``(M, C)`` with ``lower`` / ``upper`` ``(M,)`` (entries in ``segments``);
        self_values ``(S, C)`` with ``self_lower`` / ``self_upper`` ``(S,)`` -> ``(S, C)``.
    """
    lo, up = lower[:, None], upper[:, None]
    kept = torch.where(values >= 0, lo * values, up * values)
    total = values.new_zeros(self_values.shape).index_add_(0, segments.segment, kept)
    gain = segments.top_sum((lo * values).clamp_min(0))
    sl, su = self_lower[:, None], self_upper[:, None]
    own = torch.where(self_values >= 0, sl * self_values, su * self_values)
    return own + total - gain
