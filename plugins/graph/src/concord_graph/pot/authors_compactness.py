r"""POT's node compactness as its authors train it: a linearised score, not a certificate.

Yu et al. 2023, `Provable Training for Graph Contrastive Learning
<https://arxiv.org/abs/2309.13944>`_, Sec. 4 (the bound on node compactness); reproduced from what
the authors' training computes (``VoidHaruhi/POT-GCL``, ``GRACE/model.py`` ``Model.pot_loss``,
lines 131-197, and ``GRACE/my_utils.py`` ``get_alpha_beta`` / ``get_crown_weights``, lines
104-135). For a 2-layer GCN :math:`h = \sigma(\hat{A}\,\sigma(\hat{A} X W_1 + b_1) W_2 + b_2)`,
the edge-drop budget :math:`\delta_i` of :mod:`concord_graph.pot.budget`, a sampled view
:math:`\hat{A}'` and the weights :math:`w_i` of :func:`~concord_graph.pot.compactness_weights`
(from the *other* view):

1. **Box on** :math:`\hat{A}'` (lines 142-155): :math:`U_{ij} = ((\tilde{d}_i - \delta_i)
   (\tilde{d}_j - \delta_j))^{-1/2}` on every edge and the diagonal; the lower box is the
   diagonal :math:`1/\tilde{d}_i` only -- every off-diagonal entry may fall to 0, even where
   :math:`\delta_i = 0`.
2. **Layer 1** (lines 169-175): :math:`Z_1^{L,U}` by interval arithmetic of :math:`P_1 = X W_1`
   (clean features) over the box.
3. **Layer 2** (lines 170-179): the same with :math:`P_2 = H W_2` of the *clean* hidden layer
   :math:`H = \sigma(\hat{A} P_1 + b_1)` -- a single point, although :math:`H` changes with
   :math:`\hat{A}'`: not a bound over the budget.
4. **Relaxation** (:func:`~concord_graph.pot.relaxation.authors_linear_bounds`): the chord's
   slope :math:`s` for both lines of an unstable neuron, intercepts :math:`0` and
   :math:`(a-1)ul/(u-al)`.
5. **Back-substitution with node i's own slopes at both layers** (``get_crown_weights``):

   .. math::
       \Lambda^{(2)}_i = s^{(2)}_i \odot w_i, \quad \tilde{W}^{(2)}_i = W_2 \Lambda^{(2)}_i, \quad
       \tilde{b}^{(2)}_i = \Lambda^{(2)}_i \cdot (\Delta^{(2)}_i + b_2),

       \Lambda^{(1)}_i = s^{(1)}_i \odot \tilde{W}^{(2)}_i, \quad \tilde{W}^{(1)}_i = W_1
       \Lambda^{(1)}_i, \quad \tilde{b}^{(1)}_i = \Lambda^{(1)}_i \cdot (\Delta^{(1)}_i + b_1),

   :math:`\Delta` the upper intercept where the coefficient is negative, else 0.
6. **Evaluation at the sampled view** (lines 189-193), with clean features:

   .. math::
       \tilde{f} = M \left(M r + \tilde{b}^{(1)}\right) + \tilde{b}^{(2)}, \qquad
       r_i = x_i^\top \tilde{W}^{(1)}_i = (x_i W_1) \cdot \Lambda^{(1)}_i ,

   where :math:`M = \hat{A}'^\top` -- the authors build the view's matrix with
   ``torch.sparse_coo_tensor(edge_index, ...)``, rows = edge *sources*, while the GCN aggregates
   at targets; with GRACE's directed edge drops (``dropout_adj``) node :math:`i`'s score sums
   over its kept *out*-edges, each with the view's in-degree normalisation. Node :math:`i`'s
   score thus mixes :math:`r_k` of nodes two hops away, each linearised with *node k's* slopes
   and weights.

The score tracks the real compactness of a trained model closely (``benchmarks/graph``) but is
not a lower bound of it for the budget: use :func:`~concord_graph.pot.certified_compactness` for
a certificate. Gradients flow as in the authors' code: through the weights, the clean hidden
layer, the bounds and the slopes; the PReLU slope enters as a constant (``weight.item()``).

Departures, all without effect on an undirected graph such as Cora, CiteSeer and PubMed: the box
uses the GCN's in-degrees and in-edges (the authors: degrees of the symmetrised graph, out-edges);
with PReLU each layer uses its own slope (the authors share one activation between the layers).
"""

from __future__ import annotations

import torch
from torch import Tensor

from concord.errors import InputError
from concord_graph.nn.gcn_encoder import GCNEncoder
from concord_graph.nn.normalized_adjacency import normalized_adjacency
from concord_graph.nn.sparse_operator import SparseOperator
from concord_graph.pot.budget import EdgeBudget, edge_budget
from concord_graph.pot.relaxation import authors_linear_bounds, negative_slope

__all__ = ["authors_compactness"]


def _box_bounds(b: EdgeBudget, upper: SparseOperator, p: Tensor, bias: Tensor) -> tuple[Tensor, Tensor]:
    """Interval of :math:`\\hat{A}' P + b` over the authors' box (lower box = the diagonal)."""
    diag = b.self_lower[:, None]
    lo = diag * p.clamp_min(0) + upper @ p.clamp_max(0) + bias
    hi = upper @ p.clamp_min(0) + diag * p.clamp_max(0) + bias
    return lo, hi


def _slope(act) -> Tensor | float:
    a = negative_slope(act)
    return a.detach() if isinstance(a, Tensor) else a  # the authors: activation.weight.item()


def authors_compactness(
    encoder: GCNEncoder,
    x: Tensor,
    edge_index: Tensor,
    view_edge_index: Tensor,
    weights: Tensor,
    budget: float,
    *,
    view_edge_weight: Tensor | None = None,
    extra_degree: Tensor | None = None,
) -> Tensor:
    r"""The POT authors' node-compactness score of every node (see the module docstring).

    Args:
        encoder: a 2-layer :class:`~concord_graph.nn.GCNEncoder` (relu / leaky_relu / prelu).
        x: clean node features ``(N, F)`` (the authors pass ``data.x``, not the view's).
        edge_index: the unaugmented graph ``(2, E)``: the budget and the clean hidden layer.
        view_edge_index: the sampled view's edges ``(2, E')``, where the score is evaluated.
        weights: :math:`w_i` of every node, ``(N, d_out)``, from the other view's embeddings.
        budget: the view's edge-drop rate :math:`p` in [0, 1).
        view_edge_weight: the view's edge weights ``(E',)`` (default: ones).
        extra_degree: ``(N,)`` in-edges missing from ``edge_index`` (mini-batch subgraphs).

    Returns:
        ``(N,)`` scores, differentiable w.r.t. the encoder and ``weights``.
    """
    if encoder.num_layers != 2:
        raise InputError(
            f"pot.bound 'authors' is the authors' formulation for 2-layer GCNs (their code asserts "
            f"k == 2); this encoder has {encoder.num_layers} layers. Use pot.bound 'certified', "
            "which holds for any depth"
        )
    n = x.shape[0]
    if weights.shape != (n, encoder.out_channels):
        raise InputError(f"weights must have shape ({n}, {encoder.out_channels}) (nodes, embedding size), "
                         f"got {tuple(weights.shape)}")
    (_, b1, act1), (w2, b2, act2) = encoder.layer_parameters()
    b = edge_budget(edge_index, n, budget, extra_degree)
    upper = b.matrix(b.upper, b.self_upper)
    clean = normalized_adjacency(edge_index, n, extra_degree=extra_degree).operator

    p1 = encoder.input_product(x)  # X W1 (x @ w1)
    z1_lo, z1_hi = _box_bounds(b, upper, p1, b1)
    hidden = act1(clean @ p1 + b1)  # the clean hidden layer (line 170)
    p2 = hidden @ w2
    z2_lo, z2_hi = _box_bounds(b, upper, p2, b2)
    rel1 = authors_linear_bounds(z1_lo, z1_hi, _slope(act1))
    rel2 = authors_linear_bounds(z2_lo, z2_hi, _slope(act2))

    # get_crown_weights, every coefficient taken at node i's own bounds
    lam2 = rel2.lower_slope * weights  # lower and upper slopes coincide in this relaxation
    delta2 = torch.where(weights >= 0, rel2.lower_intercept, rel2.upper_intercept)
    bias2 = (lam2 * (delta2 + b2)).sum(dim=1)
    w_tilde2 = lam2 @ w2.t()
    lam1 = rel1.lower_slope * w_tilde2
    delta1 = torch.where(w_tilde2 >= 0, rel1.lower_intercept, rel1.upper_intercept)
    bias1 = (lam1 * (delta1 + b1)).sum(dim=1)
    r = (p1 * lam1).sum(dim=1)  # x_i . (W1 Lam1_i)

    view = normalized_adjacency(view_edge_index, n, view_edge_weight, extra_degree)
    m = SparseOperator.from_entries(view.source, view.target, view.weight, (n, n))  # rows = sources
    inner = m @ r[:, None] + bias1[:, None]
    return (m @ inner).squeeze(1) + bias2
