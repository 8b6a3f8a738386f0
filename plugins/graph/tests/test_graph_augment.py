"""Graph augmentations: their statistics and formulas computed a second way (the contract suite
-- no mutation, determinism, bad inputs -- runs over every entry point in tests/test_contracts.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.datasets import KarateClub

from concord import build
from concord.augment import Compose
from concord_graph.augment import (
    AdaptiveDropEdges,
    AdaptiveMaskFeatures,
    AddEdges,
    Diffusion,
    DropEdges,
    DropNodes,
    MaskFeatures,
    RandomWalkSubgraph,
)
from concord_graph.augment.adaptive_drop_edges import edge_drop_probabilities
from concord_graph.augment.adaptive_mask_features import feature_mask_probabilities
from concord_graph.augment.centrality import node_centrality
from concord_graph.data.synthetic import sbm_graph


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def big() -> Data:
    return sbm_graph(num_nodes=2000, num_classes=4, num_edges=20000, num_features=16, generator=_gen(1))


def test_drop_edges_rate_and_attributes(big):
    data = big.clone()
    data.edge_weight = torch.arange(data.edge_index.shape[1], dtype=torch.float32)
    out = DropEdges(p=0.3)(data, generator=_gen())
    kept = out.edge_index.shape[1] / data.edge_index.shape[1]
    assert abs(kept - 0.7) < 0.02
    # each surviving edge keeps its own weight (the weight is the edge's original position)
    pos = out.edge_weight.long()
    assert torch.equal(data.edge_index[:, pos], out.edge_index)
    assert torch.equal(out.x, data.x)


def test_drop_edges_undirected_keeps_pairs(big):
    out = DropEdges(p=0.5, undirected=True)(big, generator=_gen())
    e = {tuple(x) for x in out.edge_index.t().tolist()}
    assert all((v, u) in e for u, v in e)
    assert abs(len(e) / big.edge_index.shape[1] - 0.5) < 0.03


def test_mask_features_dimension_rate(big):
    """Each feature column is zeroed with probability p = 0.25: over 400 draws of 16 columns the
    zeroed fraction has standard deviation sqrt(0.25 * 0.75 / 6400) = 0.0054, so |mean - p| <
    0.022 (4 sd) fails a rate of 0.2 or 0.3 (or 1 - p), and a kept column is the input's.
    Entry mode: 32,000 entries, sd 0.0024, bound 0.01."""
    aug = MaskFeatures(p=0.25)
    fractions = []
    for seed in range(400):
        out = aug(big, generator=_gen(seed))
        zeroed = (out.x == 0).all(dim=0)
        assert torch.equal(out.x[:, ~zeroed], big.x[:, ~zeroed])
        fractions.append(float(zeroed.float().mean()))
    assert abs(float(np.mean(fractions)) - 0.25) < 0.022, np.mean(fractions)
    entry = MaskFeatures(p=0.25, mode="entry")(big, generator=_gen())
    assert abs(float((entry.x == 0).float().mean()) - 0.25) < 0.01


def test_drop_nodes_removes_incident_edges(big):
    out = DropNodes(p=0.2)(big, generator=_gen())
    assert abs(out.num_nodes / big.num_nodes - 0.8) < 0.04
    kept = set(out.n_id.tolist())
    expected = sum(1 for u, v in big.edge_index.t().tolist() if u in kept and v in kept)
    assert out.edge_index.shape[1] == expected


def test_add_edges_count(big):
    out = AddEdges(p=0.1)(big, generator=_gen())
    assert out.edge_index.shape[1] == big.edge_index.shape[1] + round(0.1 * big.edge_index.shape[1])


def test_random_walk_visits_only_reachable_nodes():
    # a path 0 -> 1 -> ... -> 9 and an isolated pair 10 <-> 11: walks from 0 stay on the path
    ei = torch.tensor([[i for i in range(9)] + [10, 11], [i + 1 for i in range(9)] + [11, 10]])
    from concord_graph.augment.random_walk_subgraph import random_walk_nodes

    visited = random_walk_nodes(ei, 12, torch.tensor([0]), 4, _gen())
    assert visited.nonzero().view(-1).tolist() == [0, 1, 2, 3, 4]
    data = Data(x=torch.randn(12, 3), edge_index=ei)
    out = RandomWalkSubgraph(root_ratio=0.2, walk_length=3)(data, generator=_gen())
    assert torch.equal(out.x, data.x[out.n_id])


def test_degree_pagerank_eigenvector_centrality_second_way():
    data = KarateClub()[0]
    n = data.num_nodes
    a = torch.zeros(n, n)
    a[data.edge_index[0], data.edge_index[1]] = 1.0
    assert torch.equal(node_centrality(data.edge_index, n, "degree"), a.sum(0))
    # GCA's PageRank is the fixed point of x = 0.15 + 0.85 A^T D_out^{-1} x: solve it directly
    m = a.t() / a.sum(1)[None, :]
    exact = torch.linalg.solve(torch.eye(n) - 0.85 * m, 0.15 * torch.ones(n))
    torch.testing.assert_close(node_centrality(data.edge_index, n, "pagerank"), exact, rtol=1e-4, atol=1e-4)
    evc = node_centrality(data.edge_index, n, "eigenvector")
    _, vecs = torch.linalg.eigh(a.double())
    lead = vecs[:, -1].abs().float()
    torch.testing.assert_close(evc / evc.norm(), lead / lead.norm(), rtol=1e-4, atol=1e-5)


def test_gca_edge_probabilities_match_paper_formula():
    data = KarateClub()[0]
    n = data.num_nodes
    p, cap = 0.3, 0.7
    got = edge_drop_probabilities(data.edge_index, n, "degree", p, cap)
    deg = torch.bincount(data.edge_index[1], minlength=n).float()
    s = [float(np.log(float(deg[v]))) for v in data.edge_index[1].tolist()]
    s_max, s_mean = max(s), sum(s) / len(s)
    want = torch.tensor([min((s_max - si) / (s_max - s_mean) * p, cap) for si in s])
    torch.testing.assert_close(got, want)
    assert abs(float(got.mean()) - p) < 0.05  # mean drop rate ~ p_e before the cap


def test_gca_feature_probabilities_match_paper_formula():
    g = _gen(3)
    x = (torch.rand(30, 12, generator=g) < 0.3).float()
    ei = sbm_graph(num_nodes=30, num_classes=2, num_edges=60, generator=g).edge_index
    got = feature_mask_probabilities(x, ei, "degree", 0.2, 0.7, "binary")
    deg = torch.bincount(ei[1], minlength=30).float()  # sbm_graph is symmetric: in-degree = degree
    w = [(x[:, d] != 0).float() @ deg for d in range(12)]
    s = [float(np.log(float(wi))) for wi in w]
    want = torch.tensor([min((max(s) - si) / (max(s) - sum(s) / len(s)) * 0.2, 0.7) for si in s])
    torch.testing.assert_close(got, want)


def test_adaptive_drop_edges_prefers_edges_into_low_degree_nodes(big):
    counts = torch.zeros(big.edge_index.shape[1])
    aug = AdaptiveDropEdges(p=0.3)
    key = big.edge_index[0] * big.num_nodes + big.edge_index[1]
    for s in range(20):
        out = aug(big, generator=_gen(s))
        kept = torch.isin(key, out.edge_index[0] * big.num_nodes + out.edge_index[1])
        counts += (~kept).float()
    prob = edge_drop_probabilities(big.edge_index, big.num_nodes, "degree", 0.3, 0.7)
    assert float(torch.corrcoef(torch.stack([counts, prob]))[0, 1]) > 0.5


def test_adaptive_mask_features_keeps_whole_columns(big):
    out = AdaptiveMaskFeatures(p=0.3, weighting="magnitude")(big, generator=_gen())
    assert bool(((out.x == big.x).all(0) | (out.x == 0).all(0)).all())


def test_diffusion_matches_dense_ppr():
    data = KarateClub()[0]
    n, alpha, k = data.num_nodes, 0.15, 8
    out = Diffusion(alpha=alpha, k=k)(data)
    a = torch.zeros(n, n, dtype=torch.float64)
    a[data.edge_index[0], data.edge_index[1]] = 1.0
    a = a + torch.eye(n, dtype=torch.float64)
    d = a.sum(1).pow(-0.5)
    t = d[:, None] * a * d[None, :]
    s = alpha * torch.linalg.inv(torch.eye(n, dtype=torch.float64) - (1 - alpha) * t)
    # keep the top-k entries of every column, then normalise columns to sum 1 (GDC's "col");
    # compared as sorted values per column, since tied entries may be kept either way
    top = s.topk(k, dim=0).values
    want = (top / top.sum(0, keepdim=True)).sort(dim=0).values
    got = torch.zeros(n, n, dtype=torch.float64)
    got[out.edge_index[0], out.edge_index[1]] = out.edge_weight.double()
    assert bool(((got > 0).sum(0) == k).all())
    kept = got.sort(dim=0).values[-k:]
    torch.testing.assert_close(kept, want, rtol=1e-4, atol=1e-6)


def test_compose_by_registry_name(big):
    aug = Compose(steps=[{"name": "graph.drop_edges", "p": 0.2}, {"name": "graph.mask_features", "p": 0.3}])
    a = aug(big, generator=_gen(5))
    b = Compose(steps=[DropEdges(p=0.2), MaskFeatures(p=0.3)])(big, generator=_gen(5))
    assert torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)
    assert isinstance(build("augmentations", "graph.diffusion", k=4), Diffusion)
