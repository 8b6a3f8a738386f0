"""POT in the authors' formulation (``pot.bound: authors``), each step computed a second way: a
dense ``N x N`` evaluation written out plainly from the authors' ``Model.pot_loss`` /
``get_alpha_beta`` / ``get_crown_weights`` (VoidHaruhi/POT-GCL, GRACE/), on tiny graphs; and the
training step that uses it."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from concord_graph.contrast import GRACE, NodeContrastStep, full_batch
from concord_graph.data.synthetic import sbm_graph
from concord_graph.nn import GCNEncoder
from concord_graph.pot import compactness_weights
from concord_graph.pot.authors_compactness import authors_compactness
from concord_graph.pot.relaxation import authors_linear_bounds, linear_bounds

# 6 nodes, undirected (both directions stored), as the authors' data sets
UNDIRECTED = [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (4, 5), (3, 5), (1, 4), (0, 5)]
EDGES = torch.tensor([[u for u, v in UNDIRECTED] + [v for u, v in UNDIRECTED],
                      [v for u, v in UNDIRECTED] + [u for u, v in UNDIRECTED]])
# a sampled view as dropout_adj draws it: single directions removed, so the view is directed
VIEW = EDGES[:, [0, 2, 3, 5, 6, 8, 9, 10, 12, 13, 14, 17]]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _encoder(act: str, seed: int, in_ch: int = 4) -> GCNEncoder:
    torch.manual_seed(seed)
    enc = GCNEncoder(in_ch, 3, hidden_channels=5, num_layers=2, activation=act)
    for conv in enc.convs:  # biases of both signs, so that some neurons are unstable
        conv.bias.data.normal_(0.0, 0.5)
    if act == "prelu":
        for a in enc.acts:
            a.weight.data.fill_(0.2)
    return enc


def _dense_gcn_matrix(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """gcn_norm as a dense matrix the way the authors store it: entry [source, target] =
    d~_source^-1/2 d~_target^-1/2 with d~ the in-degree + 1 (self loops added)."""
    m = torch.zeros(n, n)
    deg = torch.ones(n)
    for v in edge_index[1].tolist():
        deg[v] += 1
    for u, v in edge_index.t().tolist():
        m[u, v] += deg[u] ** -0.5 * deg[v] ** -0.5
    for i in range(n):
        m[i, i] += 1.0 / deg[i]
    return m


def _alpha_beta(l: torch.Tensor, u: torch.Tensor, alpha: float):  # noqa: E741
    """get_alpha_beta, element by element."""
    a_l, a_u, b_l, b_u = (torch.zeros_like(l) for _ in range(4))
    for idx in range(l.numel()):
        lo, hi = float(l.view(-1)[idx]), float(u.view(-1)[idx])
        if lo >= 0:
            a_l.view(-1)[idx] = a_u.view(-1)[idx] = 1.0
        if hi <= 0:
            a_l.view(-1)[idx] = a_u.view(-1)[idx] = alpha
        if not (lo >= 0 or hi <= 0):
            s = (hi - alpha * lo) / (hi - lo)
            a_l.view(-1)[idx] = a_u.view(-1)[idx] = s
            b_u.view(-1)[idx] = (alpha - 1) * hi * lo / (hi - alpha * lo)
    return a_l, a_u, b_l, b_u


def _authors_dense(enc: GCNEncoder, x, edges, view, z_other, p: float, *, transpose_view: bool = True,
                   view_hidden: bool = False, per_node_slopes: bool = True, lower_box_kept: bool = False):
    """The authors' pot_score written out with dense N x N matrices. The keyword switches build
    plausible wrong implementations, to show that the test graph tells them apart."""
    n = x.shape[0]
    (w1, b1, _), (w2, b2, _) = enc.layer_parameters()
    alpha = 0.0 if enc.activation == "relu" else float(enc.acts[0].weight)
    act = enc.acts[0]
    adj = torch.zeros(n, n)
    for u, v in edges.t().tolist():
        adj[u, v] = 1.0
    deg = adj.sum(1)  # degree of the (already undirected) graph
    d_tilde = deg + 1
    max_delete = torch.minimum(torch.clamp(d_tilde - 2, min=0), torch.round(p * deg))
    s = 1 / torch.sqrt(d_tilde - max_delete)
    a_upper = torch.where(adj + torch.eye(n) > 0, s[:, None] * s[None, :], torch.zeros(n, n))
    a_lower = torch.diag(1 / d_tilde)
    if lower_box_kept:  # the certified budget's lower box: a node with delta_i = 0 keeps its edges
        a_lower = torch.where((max_delete[:, None] == 0) & (adj > 0), _dense_gcn_matrix(edges, n), a_lower)
    mid, rad = (a_upper + a_lower) / 2, (a_upper - a_lower) / 2
    xw = x @ w1
    clean = _dense_gcn_matrix(edges, n).t()  # GCNConv aggregates at targets: rows = targets
    hid_graph = _dense_gcn_matrix(view, n).t() if view_hidden else clean
    h = act(hid_graph @ xw + b1)
    hw = h @ w2
    z1_u, z1_l = mid @ xw + rad @ xw.abs() + b1, mid @ xw - rad @ xw.abs() + b1
    z2_u, z2_l = mid @ hw + rad @ hw.abs() + b2, mid @ hw - rad @ hw.abs() + b2
    zn = torch.nn.functional.normalize(z_other, dim=1)
    wcl = torch.stack([zn[i] - torch.cat([zn[:i], zn[i + 1:]]).mean(0) for i in range(n)])
    a2l, a2u, b2l, b2u = _alpha_beta(z2_l, z2_u, alpha)
    a1l, a1u, b1l, b1u = _alpha_beta(z1_l, z1_u, alpha)
    lam2 = torch.where(wcl >= 0, a2l, a2u) * wcl
    d2 = torch.where(wcl >= 0, b2l, b2u)
    w_t2 = lam2 @ w2.t()
    b_t2 = torch.diag(lam2 @ (d2 + b2).t())
    if not per_node_slopes:  # one slope per hidden unit, shared by all nodes
        a1l, a1u = a1l.mean(0, keepdim=True).expand(n, -1), a1u.mean(0, keepdim=True).expand(n, -1)
    lam1 = torch.where(w_t2 >= 0, a1l, a1u) * w_t2
    d1 = torch.where(w_t2 >= 0, b1l, b1u)
    w_t1 = lam1 @ w1.t()
    b_t1 = torch.diag(lam1 @ (d1 + b1).t())
    xw_t = torch.stack([x[i] @ w_t1[i] for i in range(n)])
    m = _dense_gcn_matrix(view, n)
    if not transpose_view:
        m = m.t()
    return m @ (m @ xw_t + b_t1) + b_t2


@pytest.mark.parametrize("act", ["relu", "prelu"])
def test_authors_score_equals_the_dense_evaluation_of_their_code(act):
    g = _gen(0)
    x = torch.rand(6, 4, generator=g)
    enc = _encoder(act, 1)
    z_other = torch.randn(6, 3, generator=g)
    p = 0.5
    with torch.no_grad():
        got = authors_compactness(enc, x, EDGES, VIEW, compactness_weights(z_other), p)
        want = _authors_dense(enc, x, EDGES, VIEW, z_other, p)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        # the graph tells the plausible wrong implementations apart (the test can fail):
        for wrong in ({"transpose_view": False},  # the view's matrix with rows = targets
                      {"view_hidden": True}):  # the hidden layer of the view, not the clean one
            assert not torch.allclose(got, _authors_dense(enc, x, EDGES, VIEW, z_other, p, **wrong), atol=1e-4)


def test_authors_score_is_sensitive_to_features_and_per_node_slopes():
    # catches: the view's masked features in place of data.x; slopes shared across nodes
    g = _gen(3)
    x = torch.rand(6, 4, generator=g)
    enc = _encoder("relu", 4)
    z_other = torch.randn(6, 3, generator=g)
    with torch.no_grad():
        got = authors_compactness(enc, x, EDGES, VIEW, compactness_weights(z_other), 0.5)
        masked = x.clone()
        masked[:, 1] = 0
        assert not torch.allclose(got, _authors_dense(enc, masked, EDGES, VIEW, z_other, 0.5), atol=1e-4)
        assert not torch.allclose(got, _authors_dense(enc, x, EDGES, VIEW, z_other, 0.5, per_node_slopes=False),
                                  atol=1e-4)


def test_authors_box_lets_every_edge_drop():
    # the authors' lower box is the diagonal only, even for a node that may lose no edge: with
    # p = 0 their layer-1 bounds are still intervals (catches the certified budget's lower box)
    g = _gen(5)
    x = torch.rand(6, 4, generator=g)
    enc = _encoder("relu", 6)
    z_other = torch.randn(6, 3, generator=g)
    w = compactness_weights(z_other)
    with torch.no_grad():
        got = authors_compactness(enc, x, EDGES, VIEW, w, 0.0)
        torch.testing.assert_close(got, _authors_dense(enc, x, EDGES, VIEW, z_other, 0.0), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(got, _authors_dense(enc, x, EDGES, VIEW, z_other, 0.0, lower_box_kept=True),
                                  atol=1e-4)


def test_authors_relaxation_by_hand_and_where_it_is_a_bound():
    rel = authors_linear_bounds(torch.tensor([-1.0]), torch.tensor([1.0]), 0.0)
    assert float(rel.lower_slope) == float(rel.upper_slope) == 0.5
    assert float(rel.lower_intercept) == 0.0
    assert float(rel.upper_intercept) == 1.0  # -l; the chord's intercept is 0.5
    assert float(linear_bounds(torch.tensor([-1.0]), torch.tensor([1.0]), 0.0).upper_intercept) == 0.5
    g = _gen(7)
    lower = -torch.rand(300, generator=g) * 2 - 0.01
    upper = torch.rand(300, generator=g) * 2 + 0.01
    z = lower[:, None] + torch.linspace(0, 1, 51)[None, :] * (upper - lower)[:, None]
    for a, valid in ((0.0, True), (0.25, True), (1.0, True), (1.5, False)):
        rel = authors_linear_bounds(lower, upper, a)
        s = torch.clamp(z, min=0) + a * torch.clamp(z, max=0)
        below = rel.lower_slope[:, None] * z + rel.lower_intercept[:, None] <= s + 1e-5
        above = rel.upper_slope[:, None] * z + rel.upper_intercept[:, None] >= s - 1e-5
        assert bool((below & above).all()) == valid, a


def test_authors_score_gradients_reach_the_encoder_and_the_other_view():
    g = _gen(8)
    x = torch.rand(6, 4, generator=g)
    enc = _encoder("relu", 9)
    z_other = torch.randn(6, 3, generator=g, requires_grad=True)
    authors_compactness(enc, x, EDGES, VIEW, compactness_weights(z_other), 0.5).sum().backward()
    assert z_other.grad is not None and bool(z_other.grad.abs().sum() > 0)
    for name, p in enc.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_authors_formulation_is_two_layer_only():
    enc = GCNEncoder(4, 3, num_layers=3)
    with pytest.raises(ValueError, match="2-layer"):
        authors_compactness(enc, torch.rand(6, 4), EDGES, VIEW, torch.randn(6, 3), 0.5)


@pytest.mark.parametrize("bound", ["authors", "certified"])
def test_step_loss_is_one_minus_kappa_nce_plus_kappa_mean_softplus(bound):
    # the POT authors' train.py: loss = (1 - kappa) nce + kappa (BCE_1 + BCE_2) / 2, each view's
    # score against the other view's embeddings, within its own budget
    from concord_graph.augment import DropEdges
    from concord_graph.pot import certified_compactness

    data = sbm_graph(num_nodes=30, num_classes=3, num_edges=80, num_features=5, generator=_gen(10))
    torch.manual_seed(0)
    model = GRACE(GCNEncoder(5, 4, num_layers=2), temperature=0.5)
    v1, v2 = DropEdges(p=0.3), DropEdges(p=0.2)
    step = NodeContrastStep(model, v1, v2, kappa=0.4, budgets=(0.3, 0.2), bound=bound, monitor=True)
    out = step(full_batch(data), _gen(11))
    g = _gen(11)
    g1, g2 = v1(data, generator=g), v2(data, generator=g)
    enc = model.encoder
    z1, z2 = enc.encode(g1), enc.encode(g2)
    nce = model.contrast_loss(z1, z2)
    terms = []
    for view, other, p in ((g1, z2, 0.3), (g2, z1, 0.2)):
        w = compactness_weights(other)
        if bound == "authors":
            c = authors_compactness(enc, data.x, data.edge_index, view.edge_index, w, p)
        else:
            c = certified_compactness(enc, view.x, data.edge_index, w, p)
        terms.append(torch.nn.functional.binary_cross_entropy_with_logits(c, torch.ones_like(c)))
    torch.testing.assert_close(out["loss"], 0.6 * nce + 0.4 * (terms[0] + terms[1]) / 2)
    for key in ("compactness_view", "compactness_authors", "compactness_certified", "certified_positive",
                "corr_authors_view", "corr_certified_view"):
        assert key in out and bool(torch.isfinite(out[key])), key
    assert -1.0 <= float(out["corr_authors_view"]) <= 1.0


def test_step_authors_bound_on_a_minibatch_subgraph():
    from concord_graph.augment import DropEdges
    from concord_graph.contrast import NodeBatches

    data = sbm_graph(num_nodes=80, num_classes=3, num_edges=200, num_features=5, generator=_gen(12))
    model = GRACE(GCNEncoder(5, 4, num_layers=2), temperature=0.5)
    step = NodeContrastStep(model, DropEdges(p=0.3), DropEdges(p=0.2), kappa=0.5, budgets=(0.3, 0.2))
    for batch in NodeBatches(data, 20, 2, _gen(13)):
        out = step(batch, _gen(14))
        out["loss"].backward()
        assert bool(torch.isfinite(out["loss"])) and "pot" in out


def test_view_edge_weight_is_used():
    g = _gen(17)
    x = torch.rand(6, 4, generator=g)
    enc = _encoder("relu", 18)
    w = compactness_weights(torch.randn(6, 3, generator=g))
    with torch.no_grad():
        plain = authors_compactness(enc, x, EDGES, VIEW, w, 0.5)
        ones = authors_compactness(enc, x, EDGES, VIEW, w, 0.5, view_edge_weight=torch.ones(VIEW.shape[1]))
        half = authors_compactness(enc, x, EDGES, VIEW, w, 0.5, view_edge_weight=torch.full((VIEW.shape[1],), 0.5))
    torch.testing.assert_close(plain, ones)
    assert not torch.allclose(plain, half)


def test_graph_without_edges_in_the_view():
    data = Data(x=torch.rand(6, 4), edge_index=EDGES)
    enc = _encoder("relu", 19)
    w = compactness_weights(torch.randn(6, 3, generator=_gen(20)))
    out = authors_compactness(enc, data.x, EDGES, torch.zeros(2, 0, dtype=torch.long), w, 0.5)
    assert out.shape == (6,) and bool(torch.isfinite(out).all())


def test_authors_bound_is_refused_across_processes():
    from concord_graph.augment import DropEdges

    model = GRACE(GCNEncoder(5, 4, num_layers=2), temperature=0.5)
    with pytest.raises(ValueError, match="certified"):
        NodeContrastStep(model, DropEdges(p=0.3), DropEdges(p=0.2), kappa=0.5, budgets=(0.3, 0.2), gather=True)
