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

from concord_graph.nn.sparse_operator import SparseOperator

__all__ = ["Aggregation", "Segments", "budget_minimum"]


@dataclass(frozen=True)
class Segments:
    """Entries grouped by segment, in buckets of equal-size segments: bucket ``b`` holds the
    segments ``ids[b]`` of ``sizes[b]`` entries each, every one allowed ``k[b]`` drops
    (``kmax[b]`` their maximum, a Python int); ``order`` lists the entries bucket after bucket,
    segment after segment."""

    segment: Tensor
    order: Tensor
    ids: Tensor
    sizes: tuple[int, ...]
    counts: tuple[int, ...]
    k: tuple[Tensor, ...]
    kmax: tuple[int, ...]
    num_segments: int

    @classmethod
    def of(cls, segment: Tensor, num_segments: int, k: Tensor) -> Segments:
        """Group entries by ``segment`` ``(M,)``; ``k`` ``(num_segments,)`` drops per segment.
        Segments that may drop nothing are left out (their top sum is 0)."""
        by_segment = torch.argsort(segment, stable=True)
        counts = torch.bincount(segment, minlength=num_segments)
        start = torch.cumsum(counts, 0) - counts
        k = k.to(torch.long)
        ids, orders, sizes, numbers, ks, kmax = [], [], [], [], [], []
        for d in torch.unique(counts[counts > 0]).tolist():
            seg = torch.nonzero(counts == d).view(-1)
            kb = torch.clamp(k[seg], max=d)
            top = int(kb.max())
            if top == 0:
                continue
            ids.append(seg)
            orders.append(by_segment[start[seg][:, None] + torch.arange(d, device=segment.device)].view(-1))
            sizes.append(d)
            numbers.append(int(seg.shape[0]))
            ks.append(kb)
            kmax.append(top)
        empty = segment.new_zeros(0)
        return cls(segment, torch.cat(orders) if orders else empty, torch.cat(ids) if ids else empty,
                   tuple(sizes), tuple(numbers), tuple(ks), tuple(kmax), num_segments)

    def top_sum(self, values: Tensor, rows: Tensor | None = None, scale: Tensor | None = None) -> Tensor:
        """Per segment (and column), the sum of its ``k`` largest entry values -> ``(num_segments,
        C)``. Entry ``e``'s value is ``values[rows[e]] * scale[e]`` (default: ``values[e]``), all
        >= 0. One gather and one scatter for all buckets (a gather per bucket would cost a
        full-size gradient per bucket in the backward pass)."""
        c = values.shape[1]
        out = values.new_zeros((self.num_segments, c))
        if not self.sizes:
            return out
        picked = values.index_select(0, self.order if rows is None else rows.index_select(0, self.order))
        if scale is not None:
            picked = picked * scale.index_select(0, self.order)[:, None]
        pieces = torch.split(picked, [d * m for d, m in zip(self.sizes, self.counts)])
        sums = []
        for piece, d, m, kb, top in zip(pieces, self.sizes, self.counts, self.k, self.kmax):
            best = piece.view(m, d, c).topk(top, dim=1).values  # largest first
            chosen = torch.arange(top, device=kb.device)[None, :] < kb[:, None]
            sums.append((best * chosen[:, :, None].to(best.dtype)).sum(dim=1))
        return out.index_add(0, self.ids, torch.cat(sums))


class Aggregation:
    """The budget of one aggregation, built once and minimised for many value columns.

    Segment ``s`` (row) of ``segments`` sums its entries ``e``, each reading row ``column[e]``
    of the values with a kept weight in ``[lower[e], upper[e]]``, at most ``k[s]`` of them
    dropped, plus its own never-dropped self term with weight in
    ``[self_lower[s], self_upper[s]]``. With ``products`` (for many columns) the sums run as two
    sparse products, :math:`L [V]_+ + U [V]_-` (constant matrices, fast backward); without (a
    column or two) as one scatter. The drops: :meth:`Segments.top_sum`.
    """

    def __init__(self, segments: Segments, column: Tensor, num_columns: int, lower: Tensor, upper: Tensor,
                 self_lower: Tensor, self_upper: Tensor, *, products: bool = True) -> None:
        s, segment = segments.num_segments, segments.segment
        self.segments = segments
        self.column = column
        self.lower = lower
        self.upper = upper
        self.low = SparseOperator.from_entries(segment, column, lower, (s, num_columns)) if products else None
        self.high = SparseOperator.from_entries(segment, column, upper, (s, num_columns)) if products else None
        self.self_lower = self_lower[:, None]
        self.self_upper = self_upper[:, None]

    def minimum(self, values: Tensor, self_values: Tensor) -> Tensor:
        """``(S, C)``: the minimum over the budget of every column of ``values`` ``(num_columns,
        C)`` aggregated (``self_values`` ``(S, C)``: the self terms)."""
        plus = values.clamp_min(0)
        if self.low is not None and self.high is not None:
            total = self.low @ plus + self.high @ values.clamp_max(0)
        else:
            read = values.index_select(0, self.column)
            terms = read.clamp_min(0) * self.lower[:, None] + read.clamp_max(0) * self.upper[:, None]
            total = values.new_zeros(self_values.shape).index_add(0, self.segments.segment, terms)
        gain = self.segments.top_sum(plus, self.column, self.lower)
        own = self.self_lower * self_values.clamp_min(0) + self.self_upper * self_values.clamp_max(0)
        return own + total - gain


def budget_minimum(segments: Segments, values: Tensor, lower: Tensor, upper: Tensor, self_values: Tensor,
                   self_lower: Tensor, self_upper: Tensor) -> Tensor:
    r""":math:`\min` of one aggregation over the budget (module docstring), every column alike,
    for values given per entry (see :class:`Aggregation` to reuse the budget and to read node
    values through an index).

    Shapes:
        values ``(M, C)`` with ``lower`` / ``upper`` ``(M,)`` (entries in ``segments``);
        self_values ``(S, C)`` with ``self_lower`` / ``self_upper`` ``(S,)`` -> ``(S, C)``.
    """
    entries = torch.arange(values.shape[0], device=values.device)
    return Aggregation(segments, entries, values.shape[0], lower, upper, self_lower, self_upper).minimum(values, self_values)
