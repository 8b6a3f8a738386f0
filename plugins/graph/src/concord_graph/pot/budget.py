r"""The edge-dropping budget of POT and the entry-wise bounds it puts on :math:`\hat{A}'`.

Yu et al. 2023, `Provable Training for Graph Contrastive Learning
<https://arxiv.org/abs/2309.13944>`_, Sec. 4 (the augmentation range of node compactness): an augmented graph :math:`A'` is *inside the
budget* when it is obtained from :math:`A` by removing edges only, and node :math:`i` loses at
most

.. math::
    \delta_i = \min\left(\operatorname{round}(p\, d_i),\; \max(d_i - 1, 0)\right)

of its :math:`d_i` in-edges (:math:`p` the view's edge-drop rate; ``round`` half to even as the
authors' NumPy code; the cap keeps one neighbour, as theirs). With :math:`\tilde{d}_i = d_i + 1`
and :math:`\tilde{d}'_i \in [\tilde{d}_i - \delta_i, \tilde{d}_i]`, every entry of
:math:`\hat{A}' = \tilde{D}'^{-1/2}(A' + I)\tilde{D}'^{-1/2}` satisfies

.. math::
    \hat{A}'_{ii} \in \left[\tfrac{1}{\tilde{d}_i}, \tfrac{1}{\tilde{d}_i - \delta_i}\right], \qquad
    \hat{A}'_{ij} \in \{0\} \cup \left[\tfrac{1}{\sqrt{\tilde{d}_i \tilde{d}_j}},
    \tfrac{1}{\sqrt{(\tilde{d}_i - \delta_i)(\tilde{d}_j - \delta_j)}}\right] \ (j \to i \in A),

and :math:`\hat{A}'_{ij} > 0` when :math:`\delta_i = 0` (no in-edge of :math:`i` may go).
Degrees are in-degrees, the convention of PyG's ``gcn_norm``, so the budget holds whether a view
drops the two directions of an edge together or independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.utils import remove_self_loops

from concord.validation import check_probability
from concord_graph.nn.sparse_operator import SparseOperator

__all__ = ["EdgeBudget", "edge_budget", "sample_within_budget", "within_budget"]


@dataclass(frozen=True)
class EdgeBudget:
    """The budget of one graph: per-node allowances and per-edge weight intervals.

    Edges (self loops excluded) go ``source -> target``; ``original`` is the weight of the edge
    in :math:`\\hat{A}` of the unperturbed graph, the smallest it can have while kept.
    """

    source: Tensor
    target: Tensor
    original: Tensor
    upper: Tensor
    lower: Tensor
    self_lower: Tensor
    self_upper: Tensor
    delta: Tensor
    num_nodes: int

    def matrix(self, values: Tensor, self_values: Tensor) -> SparseOperator:
        """Sparse ``(N, N)`` operator (rows = targets) with ``values`` on the edges and
        ``self_values`` on the diagonal."""
        n = self.num_nodes
        loops = torch.arange(n, device=self.target.device)
        return SparseOperator.from_entries(torch.cat([self.target, loops]), torch.cat([self.source, loops]),
                                           torch.cat([values, self_values]), (n, n))


def edge_budget(edge_index: Tensor, num_nodes: int, p: float, extra_degree: Tensor | None = None) -> EdgeBudget:
    """The budget of dropping edges at rate ``p`` from the unweighted graph ``edge_index``.

    Args:
        edge_index: ``(2, E)`` source -> target (self loops are ignored: the GCN adds its own).
        num_nodes: :math:`N`.
        p: edge-drop rate in [0, 1).
        extra_degree: ``(N,)`` in-edges not in ``edge_index`` (mini-batch subgraphs), counted in
            :math:`d_i`.
    """
    check_probability("budget", p)
    ei, _ = remove_self_loops(edge_index)
    source, target = ei
    d = torch.bincount(target, minlength=num_nodes).to(torch.float32)
    if extra_degree is not None:
        d = d + extra_degree.to(d)
    delta = torch.minimum(torch.round(p * d), (d - 1).clamp_min(0))
    d_tilde = d + 1
    d_low = d_tilde - delta
    original = (d_tilde[source] * d_tilde[target]).rsqrt()
    upper = (d_low[source] * d_low[target]).rsqrt()
    lower = torch.where(delta[target] == 0, original, torch.zeros_like(original))
    return EdgeBudget(source, target, original, upper, lower, 1.0 / d_tilde, 1.0 / d_low, delta, num_nodes)


def within_budget(original: Tensor, augmented: Tensor, num_nodes: int, p: float) -> bool:
    """Whether ``augmented`` is ``original`` minus edges, with at most :math:`\\delta_i` in-edges
    removed at every node (for tests and for checking sampled views)."""
    b = edge_budget(original, num_nodes, p)
    orig = {tuple(e) for e in remove_self_loops(original)[0].t().tolist()}
    aug = {tuple(e) for e in remove_self_loops(augmented)[0].t().tolist()}
    if not aug <= orig:
        return False
    lost = torch.zeros(num_nodes, device=b.delta.device)
    for _, v in orig - aug:
        lost[v] += 1
    return bool((lost <= b.delta).all())


def sample_within_budget(edge_index: Tensor, delta: Tensor, generator: torch.Generator, *,
                         extreme: float = 0.0) -> Tensor:
    r"""A random graph inside the budget: node :math:`i` loses :math:`r_i` of its in-edges, chosen
    uniformly, :math:`r_i` uniform in :math:`0..\delta_i` -- or :math:`\delta_i` itself with
    probability ``extreme`` (the graphs at the edge of the budget). For tests and benchmarks of
    the bounds (``delta`` from :func:`edge_budget`)."""
    dst = edge_index[1]
    n = delta.shape[0]
    r = torch.floor(torch.rand(n, generator=generator) * (delta + 1))
    if extreme > 0:
        r = torch.where(torch.rand(n, generator=generator) < extreme, delta, r)
    order = torch.randperm(dst.shape[0], generator=generator)
    order = order[torch.argsort(dst[order], stable=True)]
    counts = torch.bincount(dst, minlength=n)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.shape[0]) - start[dst[order]]
    return edge_index[:, rank >= r[dst]]
