r"""Node compactness (POT) and its certified lower bound for a GCN of any depth on a sparse graph.

Yu et al. 2023, `Provable Training for Graph Contrastive Learning
<https://arxiv.org/abs/2309.13944>`_, Sec. 4 (node compactness and its bound). For a node :math:`i`, its
embedding :math:`h_i(A')` in one view and the normalised embeddings :math:`\bar{z}'` of the
other view,

.. math::
    \tilde{f}_i = \min_{A' \in \mathcal{B}(A)} h_i(A')^\top w_i, \qquad
    w_i = \bar{z}'_i - \frac{1}{N - 1} \sum_{j \ne i} \bar{z}'_j ,

the worst case over every augmented graph inside the edge-dropping budget
:math:`\mathcal{B}(A)` (:mod:`concord_graph.pot.budget`) of how much closer :math:`h_i` is to its
positive than to the average negative. :func:`certified_compactness` returns a value
:math:`\le \tilde{f}_i` (a certificate), computed by bound propagation:

1. **Interval bounds, layers** :math:`1..L`. With :math:`P = H^{(l-1)} W^{(l)}` in a box
   :math:`[P^L, P^U]` (exact for :math:`l = 1`) and :math:`\hat{A}'_{ij} \in [L_{ij}, U_{ij}]`,
   :math:`L, U \ge 0`,

   .. math::
       Z^{(l)} \ge L\,[P^L]_+ - U\,[P^L]_- + b, \qquad Z^{(l)} \le U\,[P^U]_+ - L\,[P^U]_- + b,

   two sparse products per bound; :math:`H^{(l)}` then lies in the activation's range over
   :math:`[Z^L, Z^U]`.
2. **Tighter bounds on** :math:`Z^{(L)}` by one back-substitution step through the last hidden
   layer (:meth:`~concord_graph.pot.back_substitution.BackSubstitution.unit_bounds`): each
   column of :math:`W^{(L)}` is pushed through node :math:`j`'s relaxed activation down to
   :math:`P^{(L-1)}` (for a 2-layer GCN down to :math:`X W_1`, exactly), the budget solved at
   both aggregations; the tighter of this and the interval bound is kept.
3. **Linear relaxation of the last activation** (CROWN, :mod:`concord_graph.pot.relaxation`),
   chosen per coordinate by the sign of :math:`w_i`:
   :math:`w_i^\top \sigma(z) \ge \Lambda_i^\top z + c_i`, so
   :math:`\tilde{f}_i \ge \sum_j \hat{A}'_{ij}\, t_{ij} + \Lambda_i^\top b^{(L)} + c_i` with
   :math:`t_{ij}` a lower bound of :math:`H_j \cdot v_i`, :math:`v_i = W^{(L)} \Lambda_i`, over
   the budget.
4. :math:`t_{ij}` **by back-substitution** (:meth:`~concord_graph.pot.back_substitution.
   BackSubstitution.objective_terms`): :math:`v_i` meets node :math:`j`'s relaxed activation and
   goes down one more aggregation (two-hop paths :math:`k \to j \to i`, one sampled product each),
   node :math:`j`'s budget solved exactly; the larger of this and the box value
   :math:`\min_{H_j \in \text{box}} H_j \cdot v_i` is kept (both are valid).
5. **The budget, exactly, in the last aggregation**
   (:func:`~concord_graph.pot.budget_minimum.budget_minimum`): :math:`\sum_j \hat{A}'_{ij} t_{ij}`
   is minimised over kept weights :math:`\hat{A}'_{ij} \in [\hat{A}_{ij}, U_{ij}]` and at most
   :math:`\delta_i` dropped in-edges -- the :math:`\delta_i` largest positive terms are dropped,
   negative terms take their largest weight.

Every step is a valid bound, so the result never exceeds the compactness of any graph in the
budget (tested by enumeration and by sampling); with a zero budget it equals the compactness of
the graph itself. The budgets of node :math:`i` and of its neighbours are minimised separately
(a relaxation: the same dropped edge is free to count differently in the two hops), so the bound
is not tight; ``back_substitute=False`` gives the interval box of steps 1, 3, 5 alone, about
twice as loose on a 2-layer GCN. Memory is ``O((E + P) + (E + N) d)`` for ``P`` two-hop paths:
no ``N x N`` array, any number of layers (deeper layers keep the interval box below the last
hidden layer).

``pot.bound: authors`` trains :func:`~concord_graph.pot.authors_compactness` instead: what the
POT authors' code computes -- the second layer's bounds from the *clean* hidden layer, both
layers relaxed with node :math:`i`'s own slopes, the linear form evaluated at the *sampled* view
rather than minimised over the budget. It tracks the real compactness and guarantees nothing;
this module's bound guarantees the worst case and is looser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from concord import distributed
from concord.errors import InputError
from concord_graph.nn.gcn_encoder import GCNEncoder
from concord_graph.pot.back_substitution import (
    BackSubstitution,
    HiddenLayer,
    SampledPattern,
    csr_order,
)
from concord_graph.pot.budget import EdgeBudget, edge_budget
from concord_graph.pot.budget_minimum import Aggregation, Segments
from concord_graph.pot.relaxation import (
    activation_interval,
    linear_bounds,
    negative_slope,
    parallel_linear_bounds,
)

__all__ = ["certified_compactness", "compactness", "compactness_weights"]


def compactness_weights(other: Tensor, *, gather: bool = False) -> Tensor:
    r""":math:`w_i = \bar{z}'_i - \frac{1}{N-1}\sum_{j \ne i} \bar{z}'_j` with
    :math:`\bar{z}' = z' / \lVert z' \rVert`. With ``gather=True`` the sum and :math:`N` run over
    the global batch of every process (differentiably, :func:`concord.distributed.gather`).

    Shapes:
        other ``(N, d)`` -> ``(N, d)``.
    """
    z = nn.functional.normalize(other, dim=-1)
    everyone = distributed.gather(z).tensor if gather else z
    n = everyone.shape[0]
    if n < 2:
        raise InputError("node compactness needs at least 2 nodes (one positive, one negative)")
    total = everyone.sum(dim=0, keepdim=True)
    return z * (n / (n - 1)) - total / (n - 1)


def compactness(h: Tensor, weights: Tensor) -> Tensor:
    r""":math:`h_i^\top w_i` for embeddings of one given graph (the quantity being bounded)."""
    return (h * weights).sum(dim=-1)


@dataclass(frozen=True)
class _Boxes:
    """Interval bounds of every node: the last hidden layer ``H^(L-1)`` (centre, radius), its
    pre-activation and input box (for the back-substitution), and ``Z^(L)``."""

    h_centre: Tensor
    h_radius: Tensor
    hidden: HiddenLayer | None
    z_lower: Tensor
    z_upper: Tensor


def _interval_bounds(budget: EdgeBudget, encoder: GCNEncoder, x: Tensor) -> _Boxes:
    layers = encoder.layer_parameters()
    lower_m = budget.matrix(budget.lower, budget.self_lower)
    upper_m = budget.matrix(budget.upper, budget.self_upper)
    centre, radius = x, None
    hidden = None
    zl = zu = p_c = p_r = None
    for index, (weight, bias, act) in enumerate(layers):
        if index == len(layers) - 1 and index > 0:  # the layer below: P^(L-1), Z^(L-1)
            assert p_c is not None and zl is not None and zu is not None
            hidden = HiddenLayer(p_c, p_r, layers[index - 1][1],
                                 parallel_linear_bounds(zl, zu, negative_slope(layers[index - 1][2])))
        if radius is None:  # the features are not perturbed: P = X W exactly
            p_c, p_r = encoder.input_product(x), None
            p_lo = p_hi = p_c
        else:
            p_c, p_r = centre @ weight, radius @ weight.abs()
            p_lo, p_hi = p_c - p_r, p_c + p_r
        zl = (lower_m @ p_lo.clamp_min(0)) + (upper_m @ p_lo.clamp_max(0)) + bias
        zu = (upper_m @ p_hi.clamp_min(0)) + (lower_m @ p_hi.clamp_max(0)) + bias
        if index < len(layers) - 1:
            h_lo, h_hi = activation_interval(zl, zu, negative_slope(act))
            centre, radius = (h_hi + h_lo) / 2, (h_hi - h_lo) / 2
    assert zl is not None and zu is not None
    if radius is None:  # one layer: H^(0) = X, exact
        centre = centre.to_dense() if centre.layout != torch.strided else centre
        radius = torch.zeros_like(centre)
    return _Boxes(centre, radius, hidden, zl, zu)


def certified_compactness(
    encoder: GCNEncoder,
    x: Tensor,
    edge_index: Tensor,
    weights: Tensor,
    budget: float,
    *,
    targets: Tensor | None = None,
    extra_degree: Tensor | None = None,
    back_substitute: bool | Literal["objective"] = True,
) -> Tensor:
    r"""A lower bound of POT's node compactness :math:`\tilde{f}_i` that holds for every graph
    obtained from ``edge_index`` by dropping edges within the budget (see the module docstring).

    Args:
        encoder: the view's :class:`~concord_graph.nn.GCNEncoder` (relu / leaky_relu / prelu).
        x: node features of the view ``(N, F)`` (feature masking is not part of the budget).
        edge_index: the *unaugmented* graph ``(2, E)``, unweighted.
        weights: :math:`w_i` of every target, ``(T, d_out)`` (:func:`compactness_weights`).
        budget: the view's edge-drop rate :math:`p` in [0, 1).
        targets: node indices :math:`i` to certify, ``(T,)`` (default: all nodes, ``T = N``).
        extra_degree: ``(N,)`` in-edges missing from ``edge_index`` (mini-batch subgraphs).
        back_substitute: tighten by back-substitution through the last hidden layer: ``True``
            both the last pre-activation bounds and the objective (steps 2 and 4 of the module
            docstring), ``"objective"`` the objective only (step 4: about a third of the cost),
            ``False`` neither (the interval box on the hidden layer) (default: ``True``).

    Returns:
        ``(T,)`` certified compactness, differentiable w.r.t. the encoder and ``weights``.
    """
    n = x.shape[0]
    targets = torch.arange(n, device=x.device) if targets is None else targets
    if weights.dim() != 2 or weights.shape[0] != targets.shape[0] or weights.shape[1] != encoder.out_channels:
        raise InputError(f"weights must have shape ({targets.shape[0]}, {encoder.out_channels}) (targets, "
                         f"embedding size), got {tuple(weights.shape)}")
    b = edge_budget(edge_index, n, budget, extra_degree)
    boxes = _interval_bounds(b, encoder, x)
    weight_l, bias_l, act_l = encoder.layer_parameters()[-1]
    back = BackSubstitution(boxes.hidden, b) if back_substitute and boxes.hidden is not None else None
    zl, zu = boxes.z_lower[targets], boxes.z_upper[targets]
    if back is not None and back_substitute is True:  # Z^(L) through the relaxed hidden layer, per column
        g = back.unit_bounds(weight_l)  # (N, 2 out): lower bounds of H_j W and of -H_j W
        worst = back.nodes.minimum(g, g)[targets]
        out = weight_l.shape[1]
        zl = torch.maximum(zl, worst[:, :out] + bias_l)
        zu = torch.minimum(zu, -worst[:, out:] + bias_l)

    # CROWN on the last activation: w_i . sigma(z) >= Lam_i . z + c_i on [zl_i, zu_i]
    rel = linear_bounds(zl, zu, negative_slope(act_l))
    positive = weights >= 0
    slope = torch.where(positive, rel.lower_slope, rel.upper_slope)
    intercept = torch.where(positive, rel.lower_intercept, rel.upper_intercept)
    lam = weights * slope
    const = (weights * intercept).sum(dim=1) + lam @ bias_l
    v = lam @ weight_l.t()  # (T, d_{L-1}): t_ij = min over the budget of H_j . v_i

    # the aggregation into the targets: their in-edges, sorted by (target slot, source)
    t_count = targets.shape[0]
    slot = torch.full((n,), -1, dtype=torch.long, device=x.device)
    slot[targets] = torch.arange(t_count, device=x.device)
    into = torch.nonzero(slot[b.target] >= 0).view(-1)
    into = into[csr_order(slot[b.target[into]], b.source[into], n)]
    pos = slot[b.target[into]]
    # the box: min over H_j in [c - r, c + r] of H_j . v_i = c . v_i - r . |v_i|
    box_keys = torch.cat([boxes.h_centre, -boxes.h_radius], dim=1)
    box_rows = torch.cat([v, v.abs()], dim=1)
    t_edge = SampledPattern(pos, b.source[into], t_count, n).products(box_rows, box_keys)
    t_self = (box_rows * box_keys.index_select(0, targets)).sum(1)
    if back is not None:  # both are lower bounds of H_j . v_i: keep the larger
        bs_edge, bs_self = back.objective_terms(v, targets, into)
        t_edge, t_self = torch.maximum(t_edge, bs_edge), torch.maximum(t_self, bs_self)
    e_t = into.shape[0]
    last = Aggregation(Segments.of(pos, t_count, b.delta[targets]), torch.arange(e_t, device=x.device), e_t,
                       b.original[into], b.upper[into], b.self_lower[targets], b.self_upper[targets], products=False)
    return const + last.minimum(t_edge[:, None], t_self[:, None]).squeeze(1)
