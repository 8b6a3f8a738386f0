"""GRACE / GCA: the objective written out from the paper, the encoder against PyG's GCNConv,
exact mini-batch embeddings, and a short training run that learns."""

from __future__ import annotations

import math

import torch
from torch_geometric.nn import GCNConv

from concord_graph.contrast import GRACE, NodeBatches, batched_embeddings, full_batch, node_batch
from concord_graph.contrast.node_contrast_step import NodeContrastStep
from concord_graph.data.synthetic import sbm_graph
from concord_graph.evaluate import node_probe, protocol_split
from concord_graph.nn import GCNEncoder
from concord_graph.train.views import build_view


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _grace_objective_by_hand(u: torch.Tensor, v: torch.Tensor, tau: float) -> float:
    """GRACE Eq. 1-2 with explicit loops: l(u_i, v_i) has the positive, the inter-view negatives
    v_k (k != i) and the intra-view negatives u_k (k != i) in its denominator; J averages both
    directions over the N nodes."""
    n = u.shape[0]

    def theta(a, b):
        return float(torch.dot(a, b) / (a.norm() * b.norm()))

    def ell(a, b):
        pos = math.exp(theta(a[0], b[0]) / tau)
        return pos, a, b

    total = 0.0
    for i in range(n):
        for a, b in ((u, v), (v, u)):
            pos = math.exp(theta(a[i], b[i]) / tau)
            inter = sum(math.exp(theta(a[i], b[k]) / tau) for k in range(n) if k != i)
            intra = sum(math.exp(theta(a[i], a[k]) / tau) for k in range(n) if k != i)
            total += -math.log(pos / (pos + inter + intra))
    return total / (2 * n)


def test_grace_loss_is_the_paper_objective():
    g = _gen(0)
    enc = GCNEncoder(4, 3)
    model = GRACE(enc, projection_channels=5, temperature=0.4)
    h1, h2 = torch.randn(7, 3, generator=g), torch.randn(7, 3, generator=g)
    got = model.contrast_loss(h1, h2).item()
    with torch.no_grad():
        want = _grace_objective_by_hand(model.project(h1), model.project(h2), 0.4)
    assert abs(got - want) < 1e-4
    blocked = GRACE(enc, projection_channels=5, temperature=0.4, block_size=3)
    blocked.load_state_dict(model.state_dict())
    assert abs(blocked.contrast_loss(h1, h2).item() - got) < 1e-5


def test_encoder_equals_stacked_pyg_gcnconv_with_and_without_learned_edge_weights():
    """Same embeddings as PyG's GCNConv stack; with an ``edge_weight`` that requires a gradient,
    the same embeddings and the same gradient reaching the weights (PyG's is differentiable; a
    propagation that detaches the weights gives them none)."""
    data = sbm_graph(num_nodes=50, num_classes=2, num_edges=120, num_features=6, generator=_gen(1))
    enc = GCNEncoder(6, 4, num_layers=3, activation="prelu")
    ref = [GCNConv(c.in_channels, c.out_channels) for c in enc.convs]
    for mine, theirs in zip(enc.convs, ref):
        theirs.lin.weight.data.copy_(mine.lin.weight.data)
        theirs.bias.data.copy_(mine.bias.data)

    def pyg(weight):
        h = data.x
        for conv, act in zip(ref, enc.acts):
            h = act(conv(h, data.edge_index, weight))
        return h

    torch.testing.assert_close(enc(data.x, data.edge_index), pyg(None), rtol=1e-5, atol=1e-6)
    weight = (torch.rand(data.edge_index.shape[1], generator=_gen(2)) + 0.5).requires_grad_(True)
    ref_weight = weight.detach().clone().requires_grad_(True)
    mine, theirs = enc(data.x, data.edge_index, weight), pyg(ref_weight)
    torch.testing.assert_close(mine, theirs, rtol=1e-5, atol=1e-6)
    mine.square().sum().backward()
    theirs.square().sum().backward()
    assert weight.grad is not None, "the learned edge_weight got no gradient"
    torch.testing.assert_close(weight.grad, ref_weight.grad, rtol=1e-4, atol=1e-6)
    assert repr(enc) == "GCNEncoder(6, 4, hidden_channels=8, num_layers=3, activation='prelu')"


def test_khop_batches_give_exact_embeddings_and_cover_each_node_once():
    data = sbm_graph(num_nodes=150, num_classes=3, num_edges=400, num_features=5, generator=_gen(2))
    enc = GCNEncoder(5, 4, num_layers=3)
    with torch.no_grad():
        full = enc(data.x, data.edge_index)
        b = node_batch(data, torch.tensor([0, 42, 149]), 3)
        torch.testing.assert_close(enc.encode(b.graph)[b.seeds], full[[0, 42, 149]], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(batched_embeddings(enc.encode, data, 40, 3), full, rtol=1e-5, atol=1e-6)
        assert b.graph.num_nodes < data.num_nodes  # a subgraph, not the whole graph
    seen = torch.cat([batch.seed_ids for batch in NodeBatches(data, 32, 3, _gen(3))])
    assert sorted(seen.tolist()) == list(range(150))
    halves = [torch.cat([b.seed_ids for b in NodeBatches(data, 32, 3, _gen(3), rank=r, world_size=2)])
              for r in range(2)]
    assert torch.equal(torch.cat([halves[0][:16], halves[1][:16]]), seen[:32])


def test_minibatch_loss_and_gradient_are_the_contrast_of_the_batch_seeds_alone():
    """A mini-batch step contrasts exactly its 16 seeds, with their full-graph embeddings: the
    same loss and parameter gradients as NT-Xent on those 16 rows of the full graph's views
    (feature masks by dimension draw one mask per feature, so the same generator state masks
    the subgraph and the full graph alike). Contrasting every node of the 2-hop subgraph, or
    embeddings the subgraph's truncated neighbourhoods distort, gives another value."""
    data = sbm_graph(num_nodes=300, num_classes=3, num_edges=900, num_features=8, generator=_gen(4))
    torch.manual_seed(0)
    model = GRACE(GCNEncoder(8, 8, num_layers=2), projection_channels=8, temperature=0.5, block_size=8)
    views = [build_view([{"name": "graph.mask_features", "p": p}]) for p in (0.2, 0.4)]
    step = NodeContrastStep(model, *views)
    batch = next(iter(NodeBatches(data, 16, 2, _gen(5))))
    assert batch.seeds.shape[0] == 16 and batch.graph.num_nodes > 16  # the subgraph holds more nodes
    out = step(batch, _gen(6))
    model.zero_grad()
    out["loss"].backward()
    got = {n: p.grad.clone() for n, p in model.named_parameters()}

    g = _gen(6)
    full1, full2 = views[0](data, generator=g), views[1](data, generator=g)
    ids = batch.seed_ids
    want = model.contrast_loss(model.encoder.encode(full1)[ids], model.encoder.encode(full2)[ids])
    model.zero_grad()
    want.backward()
    torch.testing.assert_close(out["loss"], want, rtol=1e-5, atol=1e-6)
    for n, p in model.named_parameters():
        torch.testing.assert_close(got[n], p.grad, rtol=1e-4, atol=1e-6, msg=n)
    everyone = model.contrast_loss(model.encoder.encode(full1), model.encoder.encode(full2))
    assert abs(float(everyone) - float(want)) > 1e-3  # the batch loss is not the full-graph one


def test_short_training_learns_class_structure():
    data = sbm_graph(num_nodes=240, num_classes=3, num_edges=900, homophily=0.9, num_features=16,
                     feature_signal=0.6, generator=_gen(7))
    torch.manual_seed(0)
    model = GRACE(GCNEncoder(16, 16), projection_channels=16, temperature=0.5)
    views = [build_view([{"name": "graph.drop_edges", "p": p}, {"name": "graph.mask_features", "p": 0.2}])
             for p in (0.2, 0.3)]
    step = NodeContrastStep(model, *views, kappa=0.3, budgets=(0.2, 0.3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    batch, g = full_batch(data), _gen(8)
    split = protocol_split("grace", 240, seed=0)
    with torch.no_grad():
        before = node_probe(model(data), data.y, split).test_acc
    losses = []
    for _ in range(30):
        out = step(batch, g)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["nce"]))
    with torch.no_grad():
        after = node_probe(model(data), data.y, split).test_acc
    assert losses[-1] < losses[0]
    assert after > 0.8 and after >= before - 0.02
