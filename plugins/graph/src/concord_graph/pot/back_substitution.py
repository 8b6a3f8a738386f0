r"""One back-substitution step through the last hidden layer of a GCN, over the edge-drop budget.

CROWN (Zhang et al. 2018, `Efficient Neural Network Robustness Certification with General
Activation Functions <https://arxiv.org/abs/1811.00866>`_, Sec. 3.2, Theorem 3.2) on a graph
convolution. The last hidden layer is :math:`H_j = \sigma(z_j)`,
:math:`z_j = \sum_k \hat{A}'_{jk} P_k + b` with :math:`P_k \in [P^c_k - P^r_k, P^c_k + P^r_k]`
(exact, :math:`P^r = 0`, when it is the first layer: :math:`P = X W_1`). For a coefficient
vector :math:`c`, :math:`\sigma` is relaxed at *node j's own* pre-activation interval by two
parallel lines of the chord's slope :math:`s_j`
(:func:`~concord_graph.pot.relaxation.parallel_linear_bounds`; the lower line where
:math:`c \ge 0`, the upper where :math:`c < 0`):

.. math::
    c \cdot H_j \ge \mu_j \cdot z_j + \nu_j, \qquad \mu_j = c \odot s_j, \quad
    \nu_j = [c]_+ \cdot \beta^L_j + [c]_- \cdot \beta^U_j,

    c \cdot H_j \ge \min_{\hat{A}' \in \mathcal{B}} \sum_k \hat{A}'_{jk}
        \left(c \cdot R_{jk} - |c| \cdot R^r_{jk}\right) + \mu_j \cdot b + \nu_j , \qquad
    R_{jk} = s_j \odot P^c_k, \ R^r_{jk} = |s_j| \odot P^r_k,

the minimum solved exactly (:class:`~concord_graph.pot.budget_minimum.Aggregation`) over node
:math:`j`'s own in-edges. Unlike an interval box on :math:`H`, the relaxation keeps the
dependence of :math:`H_j` on :math:`z_j` and the box is paid only on :math:`P` (not at all for a
2-layer GCN). Two uses: :meth:`BackSubstitution.objective_terms` (one :math:`c = v_i` per
target, met at every in-neighbour :math:`j` of :math:`i`: two-hop paths
:math:`k \to j \to i`, one sampled product each) and :meth:`BackSubstitution.unit_bounds` (one
:math:`c` per column of the next layer's weight, for that layer's pre-activation bounds: one
``(E + N) x h x out`` product).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from concord_graph.pot.budget import EdgeBudget
from concord_graph.pot.budget_minimum import Aggregation, Segments
from concord_graph.pot.relaxation import LinearBounds

__all__ = ["BackSubstitution", "HiddenLayer", "SampledPattern"]


@dataclass(frozen=True)
class HiddenLayer:
    """The last hidden layer's input box ``P = centre +- radius`` ``(N, h)`` (``radius`` ``None``:
    exact), its bias ``(h,)`` and a relaxation of its activation at every node whose two lines
    share one slope (:func:`~concord_graph.pot.relaxation.parallel_linear_bounds`)."""

    centre: Tensor
    radius: Tensor | None
    bias: Tensor
    relaxation: LinearBounds


def csr_order(rows: Tensor, cols: Tensor, num_cols: int) -> Tensor:
    """The permutation that sorts entries by (row, column): the order :class:`SampledPattern`
    needs."""
    return torch.argsort(rows * num_cols + cols, stable=True)


class _Sampled(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rows: Tensor, keys: Tensor, pattern: SampledPattern) -> Tensor:  # type: ignore[override]
        ctx.pattern = pattern
        ctx.save_for_backward(rows, keys)
        return torch.sparse.sampled_addmm(pattern.matrix(rows.new_zeros(pattern.nnz)), rows, keys.t(),
                                          beta=0.0).values()

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        rows, keys = ctx.saved_tensors
        pat: SampledPattern = ctx.pattern
        grad_rows = torch.sparse.mm(pat.matrix(grad), keys) if ctx.needs_input_grad[0] else None
        grad_keys = torch.sparse.mm(pat.transposed(grad), rows) if ctx.needs_input_grad[1] else None
        return grad_rows, grad_keys, None


class SampledPattern:
    """A fixed sparsity pattern ``(R, K)`` whose entries, sorted by (row, column), ask for
    ``rows[r] . keys[k]``: one sampled product (SDDMM) without a ``(nnz, h)`` gather, and a
    backward pass of two sparse products (the transpose is built once)."""

    def __init__(self, rows: Tensor, cols: Tensor, num_rows: int, num_cols: int) -> None:
        counts = torch.bincount(rows, minlength=num_rows)
        self.crow = torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)])
        self.col = cols
        self.shape = (num_rows, num_cols)
        self.nnz = int(cols.shape[0])
        self.by_col = torch.argsort(cols, stable=True)
        counts_t = torch.bincount(cols, minlength=num_cols)
        self.crow_t = torch.cat([counts_t.new_zeros(1), torch.cumsum(counts_t, 0)])
        self.col_t = rows[self.by_col]

    def matrix(self, values: Tensor) -> Tensor:
        return torch.sparse_csr_tensor(self.crow, self.col, values, self.shape)

    def transposed(self, values: Tensor) -> Tensor:
        return torch.sparse_csr_tensor(self.crow_t, self.col_t, values[self.by_col], self.shape[::-1])

    def products(self, rows: Tensor, keys: Tensor) -> Tensor:
        """``(nnz,)``: ``rows[r] . keys[k]`` for every entry ``(r, k)``."""
        if self.nnz == 0:
            return rows.new_zeros(0)
        return _Sampled.apply(rows.contiguous(), keys.contiguous(), self)


class BackSubstitution:
    r"""The relaxed last hidden layer on one graph's budget (module docstring).

    Entries ``r = (k -> j)`` are the in-edges of ``budget`` followed by the ``N`` self loops;
    ``R`` holds :math:`s_j \odot P^c_k` per entry, ``(E + N, h)``; ``by_target`` groups the
    in-edges by their target and ``nodes`` aggregates node values over them.
    """

    def __init__(self, layer: HiddenLayer, budget: EdgeBudget) -> None:
        n = budget.num_nodes
        b = budget
        loops = torch.arange(n, device=b.target.device)
        src, dst = torch.cat([b.source, loops]), torch.cat([b.target, loops])
        slope = layer.relaxation.lower_slope
        s_dst = slope.index_select(0, dst)
        self.layer = layer
        self.budget = b
        self.r_centre = s_dst * layer.centre.index_select(0, src)
        self.r_radius = None if layer.radius is None else s_dst.abs() * layer.radius.index_select(0, src)
        self.by_target = Segments.of(b.target, n, b.delta)
        e = b.source.shape[0]
        self.entries = Aggregation(self.by_target, torch.arange(e, device=loops.device), e, b.original, b.upper,
                                   b.self_lower, b.self_upper)
        self.nodes = Aggregation(self.by_target, b.source, n, b.original, b.upper, b.self_lower, b.self_upper)
        # per node j: [beta^L_j, beta^U_j, s_j * b], the keys of the intercepts
        rel = layer.relaxation
        self.intercept_keys = torch.cat([rel.lower_intercept, rel.upper_intercept, slope * layer.bias], dim=1)

    def _self_keys(self, coeff: Tensor) -> tuple[Tensor, Tensor]:
        r"""Rows and keys whose products are :math:`c_o \cdot R_{jj} - |c_o| \cdot R^r_{jj}`, the
        term of node j's self loop."""
        e = self.budget.source.shape[0]
        if self.r_radius is None:
            return coeff, self.r_centre[e:]
        return torch.cat([coeff, coeff.abs()], dim=1), torch.cat([self.r_centre[e:], -self.r_radius[e:]], dim=1)

    def _coefficients(self, coeff: Tensor) -> Tensor:
        return torch.cat([coeff.clamp_min(0), coeff.clamp_max(0), coeff], dim=1)

    def objective_terms(self, coeff: Tensor, targets: Tensor, into: Tensor) -> tuple[Tensor, Tensor]:
        r"""Lower bounds over the budget of :math:`v_i \cdot H_j` for every in-edge ``j -> i`` of
        the targets and for their self loops (``j = i``).

        Args:
            coeff: ``(T, h)`` the vectors :math:`v_i` of the targets.
            targets: ``(T,)`` their node ids.
            into: ``(E_t,)`` ids of the in-edges of the targets, sorted by (target slot, source).

        Returns:
            ``(E_t,)`` and ``(T,)``: the bound per in-edge and per self loop.
        """
        b = self.budget
        n, t_count = b.num_nodes, targets.shape[0]
        slot = torch.full((n,), -1, dtype=torch.long, device=targets.device)
        slot[targets] = torch.arange(t_count, device=targets.device)
        # outer entries o: the in-edges (j -> i) of the targets, then their self loops (i, i)
        o_pos = torch.cat([slot[b.target[into]], torch.arange(t_count, device=targets.device)])
        o_node = torch.cat([b.source[into], targets])
        e_t = into.shape[0]
        # the intercepts nu_o = c+ . beta^L_j + c- . beta^U_j + c . (s_j b): sampled products over
        # the targets' in-edges, row-wise dots for the self loops
        coeffs = self._coefficients(coeff)
        edges = SampledPattern(o_pos[:e_t], o_node[:e_t], t_count, n)
        nu = torch.cat([edges.products(coeffs, self.intercept_keys),
                        (coeffs * self.intercept_keys.index_select(0, targets)).sum(1)])
        # paths: every o meets the in-edges r = (k -> j) of its node j; entries (slot of i, r)
        order = torch.argsort(b.target, stable=True)
        counts = torch.bincount(b.target, minlength=n)
        start = torch.cumsum(counts, 0) - counts
        per_o = counts[o_node]
        path_o = torch.repeat_interleave(torch.arange(o_node.shape[0], device=targets.device), per_o)
        first = torch.cumsum(per_o, 0) - per_o
        edge = order[start[o_node][path_o] + torch.arange(path_o.shape[0], device=targets.device) - first[path_o]]
        path_pos = o_pos[path_o]
        sort = csr_order(path_pos, edge, b.source.shape[0])
        path_o, edge, path_pos = path_o[sort], edge[sort], path_pos[sort]
        paths = SampledPattern(path_pos, edge, t_count, b.source.shape[0])
        e = b.source.shape[0]
        t = paths.products(coeff, self.r_centre[:e])
        self_rows, self_keys = self._self_keys(coeff)
        own = torch.cat([edges.products(self_rows, self_keys), (self_rows * self_keys.index_select(0, targets)).sum(1)])
        if self.r_radius is not None:
            t = t - paths.products(coeff.abs(), self.r_radius[:e])
        inner = Aggregation(Segments.of(path_o, o_node.shape[0], b.delta[o_node]),
                            torch.arange(path_o.shape[0], device=targets.device), path_o.shape[0],
                            b.original[edge], b.upper[edge], b.self_lower[o_node], b.self_upper[o_node],
                            products=False)
        worst = inner.minimum(t[:, None], own[:, None]).squeeze(1) + nu
        return worst[:e_t], worst[e_t:]

    def unit_bounds(self, weight: Tensor) -> Tensor:
        """``(N, 2 out)``: lower bounds of :math:`(H_j W)_c` (first ``out`` columns) and of
        :math:`-(H_j W)_c` (the others) over the budget, for every node :math:`j` and column
        :math:`c` of ``weight`` ``(h, out)``: one product :math:`R W` serves both (the lines
        share their slope), the intercepts differ."""
        e = self.budget.source.shape[0]
        q = self.r_centre @ weight
        lo_t, hi_t = q, q
        if self.r_radius is not None:
            spread = self.r_radius @ weight.abs()
            lo_t, hi_t = q - spread, q + spread
        wp, wn = weight.clamp_min(0), weight.clamp_max(0)
        rel, slope_b = self.layer.relaxation, self.layer.relaxation.lower_slope * self.layer.bias
        lo_c = rel.lower_intercept @ wp + rel.upper_intercept @ wn + slope_b @ weight
        hi_c = rel.upper_intercept @ wp + rel.lower_intercept @ wn + slope_b @ weight
        both = torch.cat([lo_t, -hi_t], dim=1)  # the upper bound is the lower bound of -H W
        return self.entries.minimum(both[:e], both[e:]) + torch.cat([lo_c, -hi_c], dim=1)
