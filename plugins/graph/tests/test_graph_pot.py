"""POT's certified node compactness: the bound checked against augmented graphs inside the budget
(sampled and enumerated), the zero-budget closed form, and each piece computed a second way."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch_geometric.data import Data

from concord_graph.contrast.node_batches import node_batch
from concord_graph.data.synthetic import sbm_graph
from concord_graph.nn import GCNEncoder, normalized_adjacency
from concord_graph.pot import (
    POTLoss,
    activation_interval,
    certified_compactness,
    compactness,
    compactness_weights,
    edge_budget,
    linear_bounds,
    within_budget,
)
from concord_graph.pot.back_substitution import BackSubstitution, HiddenLayer, csr_order
from concord_graph.pot.budget import sample_within_budget
from concord_graph.pot.budget_minimum import Segments, budget_minimum
from concord_graph.pot.relaxation import parallel_linear_bounds


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _encoder(in_ch: int, layers: int, act: str, seed: int) -> GCNEncoder:
    torch.manual_seed(seed)
    enc = GCNEncoder(in_ch, 5, hidden_channels=7, num_layers=layers, activation=act)
    if act == "prelu":
        for i, a in enumerate(enc.acts):
            a.weight.data.fill_([0.3, -0.2, 1.4][i % 3])  # convex, non-monotone and concave pieces
    return enc


def _sample_pairs_within_budget(edge_index: torch.Tensor, delta: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Drop both directions of random edges while every endpoint stays inside its budget."""
    lost = torch.zeros_like(delta)
    drop = set()
    for e in torch.randperm(edge_index.shape[1], generator=g).tolist():
        u, v = edge_index[:, e].tolist()
        if u < v and lost[u] < delta[u] and lost[v] < delta[v]:
            drop |= {(u, v), (v, u)}
            lost[u] += 1
            lost[v] += 1
    keep = torch.tensor([tuple(x) not in drop for x in edge_index.t().tolist()])
    return edge_index[:, keep]


@pytest.mark.parametrize("layers, act", [(1, "relu"), (2, "relu"), (3, "prelu"), (4, "leaky_relu")])
def test_certified_compactness_never_exceeds_sampled_augmentations(layers, act):
    g = _gen(layers)
    data = sbm_graph(num_nodes=24, num_classes=3, num_edges=60, num_features=6, generator=g)
    enc = _encoder(6, layers, act, layers)
    w = compactness_weights(torch.randn(24, 5, generator=g))
    p = 0.5
    with torch.no_grad():
        cert = certified_compactness(enc, data.x, data.edge_index, w, p)
        delta = edge_budget(data.edge_index, 24, p).delta
        worst = torch.full((24,), float("inf"))
        for s in range(1000):
            if s % 10 == 0:
                aug = _sample_pairs_within_budget(data.edge_index, delta, g)
            else:
                aug = sample_within_budget(data.edge_index, delta, g, extreme=0.5)
            if s % 50 == 0:
                assert within_budget(data.edge_index, aug, 24, p)
            worst = torch.minimum(worst, compactness(enc(data.x, aug), w))
    assert bool((cert <= worst + 1e-5).all()), f"bound exceeded by {float((cert - worst).max())}"
    assert bool(torch.isfinite(cert).all())


def test_certified_compactness_below_every_graph_of_the_budget_enumerated():
    # 5 nodes, 10 directed edges; every subset of removed edges within the budget is tried
    ei = torch.tensor([[0, 1, 0, 2, 1, 2, 2, 3, 1, 4], [1, 0, 2, 0, 2, 1, 3, 2, 4, 1]])
    x = torch.randn(5, 3, generator=_gen(7))
    enc = _encoder(3, 2, "relu", 11)
    w = compactness_weights(torch.randn(5, 5, generator=_gen(8)))
    p = 0.5
    delta = edge_budget(ei, 5, p).delta
    with torch.no_grad():
        cert = certified_compactness(enc, x, ei, w, p)
        worst = torch.full((5,), float("inf"))
        count = 0
        for r in range(ei.shape[1] + 1):
            for dropped in itertools.combinations(range(ei.shape[1]), r):
                lost = torch.bincount(ei[1, list(dropped)], minlength=5) if dropped else torch.zeros(5)
                if bool((lost > delta).any()):
                    continue
                keep = torch.ones(ei.shape[1], dtype=torch.bool)
                keep[list(dropped)] = False
                worst = torch.minimum(worst, compactness(enc(x, ei[:, keep]), w))
                count += 1
    assert count > 10
    assert bool((cert <= worst + 1e-5).all())


SMALL = torch.tensor([[0, 1, 0, 2, 1, 2, 2, 3, 1, 4, 3, 4], [1, 0, 2, 0, 2, 1, 3, 2, 4, 1, 4, 3]])


def _graphs_within_budget(ei: torch.Tensor, n: int, p: float):
    """Every graph obtained from ``ei`` by dropping at most delta_i in-edges of every node."""
    delta = edge_budget(ei, n, p).delta
    for r in range(ei.shape[1] + 1):
        for dropped in itertools.combinations(range(ei.shape[1]), r):
            lost = torch.bincount(ei[1, list(dropped)], minlength=n) if dropped else torch.zeros(n)
            if bool((lost > delta).any()):
                continue
            keep = torch.ones(ei.shape[1], dtype=torch.bool)
            keep[list(dropped)] = False
            yield ei[:, keep]


def _hidden_layer(enc: GCNEncoder, x: torch.Tensor, ei: torch.Tensor, p: float) -> HiddenLayer:
    from concord_graph.pot.compactness import _interval_bounds

    boxes = _interval_bounds(edge_budget(ei, x.shape[0], p), enc, x)
    assert boxes.hidden is not None
    return boxes.hidden


@pytest.mark.parametrize("layers, act", [(2, "relu"), (2, "prelu"), (3, "relu")])
def test_back_substitution_bounds_hold_for_every_graph_of_the_budget(layers, act):
    # unit_bounds: [lo, hi] must contain (H_j W)_c of every graph within the budget (catches a
    # swapped intercept, the self loop dropped, the radius term with the wrong sign for L > 2);
    # objective_terms: a lower bound of c . H_j for every graph
    x = torch.randn(5, 3, generator=_gen(21))
    enc = _encoder(3, layers, act, 22)
    p = 0.5
    b = edge_budget(SMALL, 5, p)
    back = BackSubstitution(_hidden_layer(enc, x, SMALL, p), b)
    weight = enc.layer_parameters()[-1][0]
    targets = torch.tensor([4, 1, 2])
    coeff = torch.randn(3, weight.shape[0], generator=_gen(23))
    slot = torch.full((5,), -1)
    slot[targets] = torch.arange(3)
    into = torch.nonzero(slot[b.target] >= 0).view(-1)
    into = into[csr_order(slot[b.target[into]], b.source[into], 5)]
    with torch.no_grad():
        g = back.unit_bounds(weight)
        out = weight.shape[1]
        lo, hi = g[:, :out], -g[:, out:]
        low_edge, low_self = back.objective_terms(coeff, targets, into)
        seen_lo, seen_hi = torch.full_like(lo, float("inf")), torch.full_like(hi, -float("inf"))
        seen_edge, seen_self = torch.full_like(low_edge, float("inf")), torch.full_like(low_self, float("inf"))
        count = 0
        for aug in _graphs_within_budget(SMALL, 5, p):
            h = x  # the hidden layer of this graph: every layer but the last
            op = normalized_adjacency(aug, 5).operator
            for w_l, b_l, a_l in enc.layer_parameters()[:-1]:
                h = a_l(op @ (h @ w_l) + b_l)
            hw = h @ weight
            seen_lo, seen_hi = torch.minimum(seen_lo, hw), torch.maximum(seen_hi, hw)
            seen_edge = torch.minimum(seen_edge, (coeff[slot[b.target[into]]] * h[b.source[into]]).sum(1))
            seen_self = torch.minimum(seen_self, (coeff * h[targets]).sum(1))
            count += 1
    assert count > 20
    assert bool((lo <= seen_lo + 1e-5).all()) and bool((hi >= seen_hi - 1e-5).all())
    assert bool((low_edge <= seen_edge + 1e-5).all()) and bool((low_self <= seen_self + 1e-5).all())


def test_back_substitution_tightens_the_certificate():
    # the tightened bound (back-substitution through the hidden layer) against the interval box on
    # it, both below the enumerated worst case; catches a back-substitution that never helps
    x = torch.randn(5, 3, generator=_gen(24))
    w = compactness_weights(torch.randn(5, 5, generator=_gen(25)))
    gaps = {True: [], False: []}
    for seed in range(2):
        enc = _encoder(3, 2, "relu", 30 + seed)
        with torch.no_grad():
            worst = torch.full((5,), float("inf"))
            for aug in _graphs_within_budget(SMALL, 5, 0.5):
                worst = torch.minimum(worst, compactness(enc(x, aug), w))
            for tight in (True, False):
                cert = certified_compactness(enc, x, SMALL, w, 0.5, back_substitute=tight)
                assert bool((cert <= worst + 1e-5).all())
                gaps[tight].append(float((worst - cert).mean()))
    assert sum(gaps[True]) < 0.8 * sum(gaps[False]), gaps


def test_zero_budget_gives_the_exact_compactness():
    data = sbm_graph(num_nodes=40, num_classes=2, num_edges=90, num_features=5, generator=_gen(3))
    enc = _encoder(5, 3, "prelu", 2)
    w = compactness_weights(torch.randn(40, 5, generator=_gen(4)))
    with torch.no_grad():
        exact = compactness(enc(data.x, data.edge_index), w)
        cert = certified_compactness(enc, data.x, data.edge_index, w, 0.0)
    torch.testing.assert_close(cert, exact, rtol=1e-5, atol=1e-5)


def test_budget_by_hand():
    # star: node 0 receives from 1..4; node i receives from 0
    ei = torch.tensor([[1, 2, 3, 4, 0, 0, 0, 0], [0, 0, 0, 0, 1, 2, 3, 4]])
    b = edge_budget(ei, 5, 0.5)
    # d_0 = 4 -> min(round(2), 3) = 2; d_i = 1 -> min(round(0.5) = 0 (half to even), 0) = 0
    assert b.delta.tolist() == [2.0, 0.0, 0.0, 0.0, 0.0]
    into0 = b.target == 0
    torch.testing.assert_close(b.original[into0], torch.full((4,), (5 * 2) ** -0.5))
    torch.testing.assert_close(b.upper[into0], torch.full((4,), (3 * 2) ** -0.5))
    assert bool((b.lower[into0] == 0).all())  # node 0 may lose these edges
    torch.testing.assert_close(b.lower[~into0], b.original[~into0])  # leaves keep theirs
    torch.testing.assert_close(b.self_upper, torch.tensor([1 / 3, 1 / 2, 1 / 2, 1 / 2, 1 / 2]))


@pytest.mark.parametrize("relax", [linear_bounds, parallel_linear_bounds])
@pytest.mark.parametrize("a", [0.0, 0.25, -0.3, 1.5])
def test_activation_bounds_hold_at_sampled_points(a, relax):
    g = _gen(5)
    lower = torch.randn(200, generator=g) * 2
    upper = lower + torch.rand(200, generator=g) * 3
    rel = relax(lower, upper, a)
    if relax is parallel_linear_bounds:
        torch.testing.assert_close(rel.lower_slope, rel.upper_slope)
    lo, hi = activation_interval(lower, upper, a)
    for t in torch.linspace(0, 1, 41):
        z = lower + t * (upper - lower)
        s = torch.clamp(z, min=0) + a * torch.clamp(z, max=0)
        assert bool((rel.lower_slope * z + rel.lower_intercept <= s + 1e-5).all())
        assert bool((rel.upper_slope * z + rel.upper_intercept >= s - 1e-5).all())
        assert bool((lo <= s + 1e-6).all()) and bool((s <= hi + 1e-6).all())


def test_compactness_weights_formula_and_gradients():
    z = torch.randn(6, 4, generator=_gen(1), requires_grad=True)
    w = compactness_weights(z)
    zn = torch.nn.functional.normalize(z.detach(), dim=1)
    for i in range(6):
        others = torch.stack([zn[j] for j in range(6) if j != i]).mean(0)
        torch.testing.assert_close(w[i].detach(), zn[i] - others)
    # the bound is differentiable w.r.t. the encoder and the other view
    data = sbm_graph(num_nodes=6, num_classes=2, num_edges=10, num_features=3, generator=_gen(2))
    enc = _encoder(3, 2, "relu", 0)
    z = torch.randn(6, 5, generator=_gen(3), requires_grad=True)
    c = certified_compactness(enc, data.x, data.edge_index, compactness_weights(z), 0.3)
    POTLoss()(c).backward()
    assert z.grad is not None and bool(torch.isfinite(z.grad).all())
    assert all(p.grad is not None for p in enc.parameters())


def test_segment_top_sum_brute_force():
    # catches: a top-k taken over the whole bucket instead of per segment, k not clamped to the
    # segment size, columns mixed up
    g = _gen(9)
    values = torch.rand(40, 3, generator=g)
    seg = torch.randint(0, 6, (40,), generator=g)
    k = torch.tensor([0, 1, 2, 3, 10, 1])
    got = Segments.of(seg, 7, torch.cat([k, torch.tensor([2])])).top_sum(values)
    for s in range(7):
        kk = int(k[s]) if s < 6 else 2
        want = values[seg == s].sort(dim=0, descending=True).values[:kk].sum(0)
        torch.testing.assert_close(got[s], want)


def test_budget_minimum_brute_force():
    # every choice of dropped entries (at most k) and of weights at the interval ends: the
    # closed form must equal the best of them (catches: positive terms at the upper weight,
    # dropping negative terms, the self loop dropped)
    g = _gen(10)
    seg = torch.tensor([0, 0, 0, 1, 1, 2])
    t = torch.randn(6, 1, generator=g)
    lo = torch.rand(6, generator=g) * 0.5
    up = lo + torch.rand(6, generator=g)
    ts = torch.randn(3, 1, generator=g)
    sl = torch.rand(3, generator=g) * 0.5
    su = sl + 0.3
    k = torch.tensor([2, 1, 0])
    got = budget_minimum(Segments.of(seg, 3, k), t, lo, up, ts, sl, su).squeeze(1)
    for s in range(3):
        ids = torch.nonzero(seg == s).view(-1).tolist()
        best = float("inf")
        for r in range(len(ids) + 1):
            for dropped in itertools.combinations(ids, r):
                if r > int(k[s]):
                    continue
                for ends in itertools.product([0, 1], repeat=len(ids) + 1):
                    total = sum(float((up[e] if ends[m] else lo[e]) * t[e]) for m, e in enumerate(ids)
                                if e not in dropped)
                    total += float((su[s] if ends[-1] else sl[s]) * ts[s])
                    best = min(best, total)
        torch.testing.assert_close(got[s], torch.tensor(best), rtol=1e-5, atol=1e-6)


def test_minibatch_bound_equals_full_graph_bound_at_seeds():
    data = sbm_graph(num_nodes=120, num_classes=3, num_edges=300, num_features=6, generator=_gen(4))
    enc = _encoder(6, 2, "relu", 3)
    seeds = torch.tensor([5, 17, 60, 99])
    b = node_batch(data, seeds, 2)
    w = compactness_weights(torch.randn(4, 5, generator=_gen(6)))
    with torch.no_grad():
        full = certified_compactness(enc, data.x, data.edge_index, w, 0.4, targets=seeds)
        part = certified_compactness(enc, b.graph.x, b.graph.edge_index, w, 0.4, targets=b.seeds,
                                     extra_degree=b.graph.extra_degree)
    torch.testing.assert_close(part, full, rtol=1e-5, atol=1e-5)


def test_pot_loss_is_bce_with_logits_against_one():
    c = torch.tensor([-2.0, 0.0, 3.0])
    want = torch.nn.functional.binary_cross_entropy_with_logits(c, torch.ones(3))
    torch.testing.assert_close(POTLoss()(c), want)


def test_bound_rejects_non_piecewise_linear_activation():
    data = Data(x=torch.randn(4, 3), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]))
    enc = GCNEncoder(3, 2, activation="elu")
    with pytest.raises(ValueError, match="piecewise-linear"):
        certified_compactness(enc, data.x, data.edge_index, torch.randn(4, 2), 0.2)
