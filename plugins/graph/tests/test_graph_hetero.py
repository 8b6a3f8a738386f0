"""Heterogeneous contrast: meta-path graphs, PathSim, MEOW / AdaMEOW losses and ProtoNCE written
out from their papers, k-means, and the MEOW model on a generated HeCo-format graph."""

from __future__ import annotations

import math

import pytest
import torch

from concord_graph.data import load_heco
from concord_graph.hetero import (
    MEOW,
    AdaMEOWLoss,
    MEOWLoss,
    cluster_prototypes,
    masked_adjacency,
    metapath_graph,
    pathsim_top_k,
    prepare_meow_inputs,
    proto_nce,
    resolve_metapath,
)
from concord_graph.hetero.prototypes import kmeans


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def acm_like(heco_dir):
    return load_heco(heco_dir, ratios=(5,))


def test_metapath_resolution_and_absent_edge_types(acm_like):
    hops = resolve_metapath(acm_like, ["paper", "author", "paper"])
    assert hops == [("paper", "to", "author"), ("author", "rev_to", "paper")]
    assert resolve_metapath(acm_like, [["paper", "to", "subject"], ["subject", "rev_to", "paper"]])[0][2] == "subject"
    with pytest.raises(ValueError, match="no edge type from 'paper' to 'venue'"):
        resolve_metapath(acm_like, ["paper", "venue", "paper"])
    with pytest.raises(ValueError, match="names an edge type the graph does not have"):
        resolve_metapath(acm_like, [["paper", "cites", "paper"]])


def test_metapath_counts_equal_the_adjacency_product(acm_like):
    ei, counts = metapath_graph(acm_like, resolve_metapath(acm_like, ["paper", "author", "paper"]))
    pa = acm_like["paper", "to", "author"].edge_index
    a = torch.zeros(90, 60)
    a[pa[0], pa[1]] = 1.0
    dense = torch.zeros(90, 90)
    dense[ei[0], ei[1]] = counts
    torch.testing.assert_close(dense, a @ a.t())


def test_pathsim_top_k_brute_force():
    g = _gen(0)
    b = (torch.rand(12, 5, generator=g) < 0.4).float()
    m = b @ b.t()
    ei = m.nonzero().t()
    ei_k, c_k = pathsim_top_k(ei, m[ei[0], ei[1]], 12, 3)
    kept = {tuple(e) for e in ei_k.t().tolist()}
    for i in range(12):
        cand = [(j, 2 * float(m[i, j]) / float(m[i, i] + m[j, j])) for j in range(12) if m[i, j] > 0]
        cand.sort(key=lambda t: (-t[1], t[0]))
        assert {(i, j) for j, _ in cand[:3]} == {e for e in kept if e[0] == i}
    assert torch.equal(c_k, m[ei_k[0], ei_k[1]])


def test_meow_loss_is_the_paper_formula():
    g = _gen(1)
    a, k = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    clusters = torch.stack([torch.tensor([0, 0, 1, 1, 2, 2, 0, 1]), torch.tensor([0, 1, 1, 0, 1, 0, 1, 1])], 1)
    tau = 0.5
    an, kn = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(k, dim=1)
    total = 0.0
    for i in range(8):
        denom = 0.0
        for j in range(8):
            w = sum(int(clusters[i, c] != clusters[j, c]) for c in range(2))
            denom += w * math.exp(float(an[i] @ kn[j]) / tau)
        total += -math.log(math.exp(float(an[i] @ kn[i]) / tau) / denom)
    got = MEOWLoss(temperature=tau, block_size=3)(a, k, clusters)
    assert abs(float(got) - total / 8) < 1e-5


def test_adameow_loss_is_the_weighted_formula():
    g = _gen(2)
    a, k = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    loss = AdaMEOWLoss(channels=4, temperature=0.7, block_size=4)
    an, kn = torch.nn.functional.normalize(a, dim=1), torch.nn.functional.normalize(k, dim=1)
    with torch.no_grad():
        w = loss.pair_weights(an, kn)
        w = w / w.mean(1, keepdim=True)
        s = an @ kn.t() / 0.7
        want = (-(s.diag()) + torch.log((w * s.exp()).sum(1))).mean()
    got = loss(a, k)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    got.backward() if got.requires_grad else None
    assert loss.lin1.weight.grad is not None


def test_proto_nce_is_pcl_formula():
    g = _gen(3)
    z = torch.nn.functional.normalize(torch.randn(40, 5, generator=g), dim=1)
    cl = cluster_prototypes(z, [4, 6], 0.4, seed=0)
    total = 0.0
    for c in cl:
        for i in range(40):
            logits = [float(z[i] @ c.centroids[j]) / float(c.density[j]) for j in range(c.centroids.shape[0])]
            total += -logits[int(c.assignment[i])] + math.log(sum(math.exp(v) for v in logits))
    assert abs(float(proto_nce(z, cl)) - total / (40 * 2)) < 1e-4
    for c in cl:
        assert abs(float(c.density.mean()) - 0.4) < 1e-5  # concentrations scaled to mean tau


def test_kmeans_recovers_separated_blobs():
    g = _gen(4)
    centres = torch.randn(3, 6, generator=g) * 10
    y = torch.arange(90) % 3
    x = centres[y] + 0.1 * torch.randn(90, 6, generator=g)
    best = min((kmeans(x, 3, generator=_gen(s)) for s in range(3)),
               key=lambda r: float(((x - r[1][r[0]]) ** 2).sum()))
    assign = best[0]
    for c in range(3):
        assert len(set(assign[y == c].tolist())) == 1
    assert len(set(assign.tolist())) == 3


def test_meow_model_trains_on_a_generated_heco_graph(acm_like):
    inputs = prepare_meow_inputs(acm_like, [["paper", "author", "paper"], ["paper", "subject", "paper"]], [10, 20])
    assert [v.name for v in inputs.views] == ["pap", "psp"]
    assert all(int(torch.bincount(v.edge_index[0]).max()) <= k for v, k in zip(inputs.views, [10, 20]))
    torch.manual_seed(0)
    model = MEOW({t: x.shape[1] for t, x in inputs.x.items()}, inputs.target,
                 [[t for t, _ in v.contexts] for v in inputs.views], hidden_channels=16, out_channels=16)
    adjs = [masked_adjacency(v, 0.2, _gen(0), inputs.num_nodes) for v in inputs.views]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = MEOWLoss(temperature=0.5)
    losses = []
    for epoch in range(15):
        out = model(inputs, inputs.x["paper"], adjs)
        cl = cluster_prototypes(out.fine.detach(), [6, 9], 0.5, seed=epoch)
        loss = loss_fn(out.coarse, out.fine, torch.stack([c.assignment for c in cl], 1)) + proto_nce(out.coarse, cl)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert out.embedding.shape == (90, 16)
    assert min(losses[-3:]) < losses[0]
    assert model.attention.last_beta is not None and abs(float(model.attention.last_beta.sum()) - 1) < 1e-6
