r"""Node compactness (POT) and its certified lower bound for a GCN of any depth on a sparse graph.

Yu et al. 2023, `Provable Training for Graph Contrastive Learning
<https://arxiv.org/abs/2309.13944>`_, Sec. 4. For a node :math:`i`, its embedding
:math:`h_i(A')` in one view and the normalised embeddings :math:`\bar{z}'` of the other view,

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
2. **Linear relaxation of the last activation** (CROWN, :mod:`concord_graph.pot.relaxation`),
   chosen per coordinate by the sign of :math:`w_i`:
   :math:`w_i^\top \sigma(z) \ge \Lambda_i^\top z + c_i`, so
   :math:`\tilde{f}_i \ge \sum_j \hat{A}'_{ij}\, t_{ij} + \Lambda_i^\top b^{(L)} + c_i` with
   :math:`t_{ij} = \min_{H_j \in \text{box}} H_j W^{(L)} \Lambda_i`.
3. **The budget, exactly, in the last aggregation**: :math:`\sum_j \hat{A}'_{ij} t_{ij}` is
   minimised over kept weights :math:`\hat{A}'_{ij} \in [\hat{A}_{ij}, U_{ij}]` and at most
   :math:`\delta_i` dropped in-edges -- the :math:`\delta_i` largest positive terms are dropped,
   negative terms take their largest weight -- a per-node top-:math:`\delta_i` selection.

Every step is a valid bound, so the result never exceeds the compactness of any graph in the
budget (tested by enumeration and by sampling); with a zero budget it equals the compactness of
the graph itself. Memory is ``O(E d + N d)``: no ``N x N`` array, any number of layers.

Departures from the authors' code (``POT-GCL``), which supports 2-layer GCNs on dense
``N x N`` arrays: it bounds the second layer's pre-activations with the *clean* hidden layer
and relaxes node :math:`j`'s activation with node :math:`i`'s bounds, and it evaluates the
final linear form at the sampled view rather than minimising it over the budget -- a useful
training signal but not a certificate. Here every bound holds for the whole budget.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord import distributed
from concord.errors import InputError
from concord_graph.nn.gcn_encoder import GCNEncoder
from concord_graph.pot.budget import EdgeBudget, edge_budget
from concord_graph.pot.relaxation import activation_interval, linear_bounds, negative_slope

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


def _segment_top_sum(values: Tensor, segment: Tensor, k: Tensor, num_segments: int) -> Tensor:
    """Per segment, the sum of its ``k[segment]`` largest ``values`` (values >= 0)."""
    if values.numel() == 0:
        return values.new_zeros(num_segments)
    by_value = torch.argsort(values, descending=True, stable=True)
    order = by_value[torch.argsort(segment[by_value], stable=True)]
    seg = segment[order]
    counts = torch.bincount(seg, minlength=num_segments)
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(seg.shape[0], device=seg.device) - start[seg]
    chosen = (rank < k[seg]).to(values.dtype)
    return values.new_zeros(num_segments).index_add_(0, seg, values[order] * chosen)


def _intermediate_bounds(
    budget: EdgeBudget, x: Tensor, layers: list[tuple[Tensor, Tensor, nn.Module]]
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Interval bounds of the last hidden layer ``H^(L-1)`` (centre, radius) and of the last
    pre-activation ``Z^(L)`` (lower, upper), for every node."""
    lower_m = budget.matrix(budget.lower, budget.self_lower)
    upper_m = budget.matrix(budget.upper, budget.self_upper)
    centre, radius = x, torch.zeros_like(x[:1]).expand_as(x)
    zl = zu = None
    for index, (weight, bias, act) in enumerate(layers):
        if index == 0:  # the features are not perturbed: P = X W exactly
            p_lo = p_hi = x @ weight
        else:
            p_c = centre @ weight
            p_r = radius @ weight.abs()
            p_lo, p_hi = p_c - p_r, p_c + p_r
        zl = (lower_m @ p_lo.clamp_min(0)) + (upper_m @ p_lo.clamp_max(0)) + bias
        zu = (upper_m @ p_hi.clamp_min(0)) + (lower_m @ p_hi.clamp_max(0)) + bias
        if index < len(layers) - 1:
            h_lo, h_hi = activation_interval(zl, zu, negative_slope(act))
            centre, radius = (h_hi + h_lo) / 2, (h_hi - h_lo) / 2
    assert zl is not None and zu is not None
    return centre, radius, zl, zu


def certified_compactness(
    encoder: GCNEncoder,
    x: Tensor,
    edge_index: Tensor,
    weights: Tensor,
    budget: float,
    *,
    targets: Tensor | None = None,
    extra_degree: Tensor | None = None,
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

    Returns:
        ``(T,)`` certified compactness, differentiable w.r.t. the encoder and ``weights``.
    """
    n = x.shape[0]
    targets = torch.arange(n, device=x.device) if targets is None else targets
    if weights.dim() != 2 or weights.shape[0] != targets.shape[0] or weights.shape[1] != encoder.out_channels:
        raise InputError(f"weights must have shape ({targets.shape[0]}, {encoder.out_channels}) (targets, "
                         f"embedding size), got {tuple(weights.shape)}")
    b = edge_budget(edge_index, n, budget, extra_degree)
    layers = encoder.layer_parameters()
    centre, radius, zl, zu = _intermediate_bounds(b, x, layers)
    weight_l, bias_l, act_l = layers[-1]

    # CROWN on the last activation: w_i . sigma(z) >= Lam_i . z + c_i on [zl_i, zu_i]
    rel = linear_bounds(zl[targets], zu[targets], negative_slope(act_l))
    positive = weights >= 0
    slope = torch.where(positive, rel.lower_slope, rel.upper_slope)
    intercept = torch.where(positive, rel.lower_intercept, rel.upper_intercept)
    lam = weights * slope
    const = (weights * intercept).sum(dim=1) + lam @ bias_l
    v = lam @ weight_l.t()  # (T, d_{L-1}): t_ij = min over the box of H_j . v_i

    # position of each target, -1 for other nodes
    slot = torch.full((n,), -1, dtype=torch.long, device=x.device)
    slot[targets] = torch.arange(targets.shape[0], device=x.device)
    # self loops
    t_self = (centre[targets] * v).sum(1) - (radius[targets] * v.abs()).sum(1)
    self_term = torch.where(t_self >= 0, t_self * b.self_lower[targets], t_self * b.self_upper[targets])
    # in-edges of the targets
    into = slot[b.target] >= 0
    src, pos = b.source[into], slot[b.target[into]]
    t_edge = (centre[src] * v[pos]).sum(1) - (radius[src] * v[pos].abs()).sum(1)
    a, up = b.original[into], b.upper[into]
    kept = torch.where(t_edge >= 0, a * t_edge, up * t_edge)
    edge_sum = torch.zeros_like(const).index_add_(0, pos, kept)
    gain = _segment_top_sum((a * t_edge).clamp_min(0), pos, b.delta[targets].long(), targets.shape[0])
    return const + self_term + edge_sum - gain
