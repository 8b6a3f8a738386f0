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

the minimum solved exactly by :func:`~concord_graph.pot.budget_minimum.budget_minimum` over node
:math:`j`'s own in-edges. Unlike an interval box on :math:`H`, the relaxation keeps the
dependence of :math:`H_j` on :math:`z_j` and the box is paid only on :math:`P` (not at all for a
2-layer GCN). Two uses: :func:`objective_terms` (one :math:`c = v_i` per two-hop path end, for
the compactness of node :math:`i`) and :func:`unit_bounds` (one :math:`c` per column of the
next layer's weight, for that layer's pre-activation bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from concord_graph.pot.budget import EdgeBudget
from concord_graph.pot.budget_minimum import Segments, budget_minimum
from concord_graph.pot.relaxation import LinearBounds

__all__ = ["BackSubstitution", "HiddenLayer"]


@dataclass(frozen=True)
class HiddenLayer:
    """The last hidden layer's input box ``P = centre +- radius`` ``(N, h)`` (``radius`` ``None``:
    exact), its bias ``(h,)`` and a relaxation of its activation at every node whose two lines
    share one slope (:func:`~concord_graph.pot.relaxation.parallel_linear_bounds`)."""

    centre: Tensor
    radius: Tensor | None
    bias: Tensor
    relaxation: LinearBounds


def _sampled_products(crow: Tensor, col: Tensor, rows: Tensor, keys: Tensor) -> Tensor:
    """``rows[o] . keys[col]`` for every stored entry of the CSR pattern ``(crow, col)`` -- one
    sampled product (SDDMM), differentiable, without gathering a row per entry."""
    pattern = torch.sparse_csr_tensor(crow, col, rows.new_zeros(col.shape[0]), (rows.shape[0], keys.shape[0]))
    return torch.sparse.sampled_addmm(pattern, rows, keys.t(), beta=0.0).values()


class BackSubstitution:
    """The relaxed last hidden layer on one graph's budget (module docstring).

    Entries ``r = (k -> j)`` are the in-edges of ``budget`` followed by the ``N`` self loops;
    ``R`` holds :math:`s_j \\odot P^c_k` per entry, ``(E + N, h)``.
    """

    def __init__(self, layer: HiddenLayer, budget: EdgeBudget) -> None:
        n = budget.num_nodes
        loops = torch.arange(n, device=budget.target.device)
        src, dst = torch.cat([budget.source, loops]), torch.cat([budget.target, loops])
        slope = layer.relaxation.lower_slope
        self.layer = layer
        self.budget = budget
        s_dst = slope.index_select(0, dst)
        self.r_centre = s_dst * layer.centre.index_select(0, src)
        self.r_radius = None if layer.radius is None else s_dst.abs() * layer.radius.index_select(0, src)
        self.by_target = Segments.of(budget.target, n, budget.delta)

    def _intercepts(self, coeff: Tensor, node: Tensor | None) -> Tensor:
        rel, b = self.layer.relaxation, self.layer.bias
        lo_b, up_b, slope = rel.lower_intercept, rel.upper_intercept, rel.lower_slope
        if node is not None:
            lo_b, up_b, slope = (t.index_select(0, node) for t in (lo_b, up_b, slope))
        return (coeff.clamp_min(0) * lo_b + coeff.clamp_max(0) * up_b + coeff * slope * b).sum(1)

    def objective_terms(self, coeff: Tensor, node: Tensor) -> Tensor:
        """Lower bounds of ``coeff[o] . H_node[o]`` over the budget, one per row ``o``.

        Args:
            coeff: ``(O, h)`` coefficient vectors :math:`c_o` (for the compactness: :math:`v_i` of
                the target :math:`i` at the end of the path).
            node: ``(O,)`` the node :math:`j` whose hidden row each coefficient meets.
        """
        b = self.budget
        n, e = b.num_nodes, b.source.shape[0]
        # every o meets the in-edges of its node: a CSR pattern (o, edge), edges ascending
        order = torch.argsort(b.target, stable=True)
        counts = torch.bincount(b.target, minlength=n)
        start = torch.cumsum(counts, 0) - counts
        per_o = counts[node]
        crow = torch.cat([per_o.new_zeros(1), torch.cumsum(per_o, 0)])
        path_o = torch.repeat_interleave(torch.arange(node.shape[0], device=node.device), per_o)
        edge = order[start[node][path_o] + torch.arange(path_o.shape[0], device=node.device) - crow[path_o]]
        t = _sampled_products(crow, edge, coeff, self.r_centre[:e])
        own = (coeff * self.r_centre.index_select(0, e + node)).sum(1)
        if self.r_radius is not None:
            t = t - _sampled_products(crow, edge, coeff.abs(), self.r_radius[:e])
            own = own - (coeff.abs() * self.r_radius.index_select(0, e + node)).sum(1)
        segments = Segments.of(path_o, node.shape[0], b.delta[node])
        worst = budget_minimum(segments, t[:, None], b.original[edge], b.upper[edge], own[:, None],
                               b.self_lower[node], b.self_upper[node])
        return worst.squeeze(1) + self._intercepts(coeff, node)

    def unit_bounds(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        """Lower and upper bounds of :math:`(H_j W)_c` over the budget for every node :math:`j` and
        column :math:`c` of ``weight`` ``(h, out)``: one product :math:`R W` serves both (the
        lines share their slope), the intercepts differ."""
        b = self.budget
        e = b.source.shape[0]
        q = self.r_centre @ weight
        lo_t, hi_t = q, q
        if self.r_radius is not None:
            spread = self.r_radius @ weight.abs()
            lo_t, hi_t = q - spread, q + spread
        lo_c = self._intercepts_columns(weight, lower=True)
        hi_c = self._intercepts_columns(weight, lower=False)
        both = torch.cat([lo_t, -hi_t], dim=1)  # the upper bound is the lower bound of -H W
        worst = budget_minimum(self.by_target, both[:e], b.original, b.upper, both[e:], b.self_lower, b.self_upper)
        out = weight.shape[1]
        return worst[:, :out] + lo_c, -worst[:, out:] + hi_c

    def _intercepts_columns(self, weight: Tensor, *, lower: bool) -> Tensor:
        rel, b = self.layer.relaxation, self.layer.bias
        first, second = (rel.lower_intercept, rel.upper_intercept) if lower else (rel.upper_intercept, rel.lower_intercept)
        return first @ weight.clamp_min(0) + second @ weight.clamp_max(0) + (rel.lower_slope * b) @ weight
