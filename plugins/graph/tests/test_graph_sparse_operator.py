"""SparseOperator: S x and its gradients, for the features and for the matrix's values (a learned
``edge_weight`` must be trained, not silently cut off), checked against finite differences and
against PyG's differentiable GCNConv."""

from __future__ import annotations

import torch
from torch_geometric.nn import GCNConv

from concord_graph.data.synthetic import sbm_graph
from concord_graph.nn import GCNEncoder
from concord_graph.nn.sparse_operator import SparseOperator


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_product_and_gradients_match_finite_differences_with_duplicate_entries():
    g = _gen(0)
    rows = torch.tensor([0, 0, 1, 2, 2, 3, 0])  # (0, 1) appears twice: the entries are summed
    cols = torch.tensor([1, 2, 0, 2, 3, 1, 1])
    values = torch.rand(7, generator=g, dtype=torch.float64).requires_grad_(True)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_(True)
    dense = torch.zeros(5, 4, dtype=torch.float64).index_put((rows, cols), values.detach(), accumulate=True)
    torch.testing.assert_close(SparseOperator.from_entries(rows, cols, values, (5, 4)) @ x, dense @ x)

    def apply(v: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        return SparseOperator.from_entries(rows, cols, v, (5, 4)) @ feats

    assert torch.autograd.gradcheck(apply, (values, x))


def test_a_learned_edge_weight_gets_the_gradient_pyg_gives_it():
    data = sbm_graph(num_nodes=40, num_classes=2, num_edges=120, num_features=5, generator=_gen(1))
    weight = (torch.rand(data.edge_index.shape[1], generator=_gen(2)) + 0.5).requires_grad_(True)
    enc = GCNEncoder(5, 3, num_layers=2, activation="prelu")
    enc(data.x, data.edge_index, weight).square().sum().backward()
    assert weight.grad is not None, "edge_weight got no gradient"

    ref_weight = weight.detach().clone().requires_grad_(True)
    ref = [GCNConv(c.in_channels, c.out_channels) for c in enc.convs]
    for mine, theirs in zip(enc.convs, ref):
        theirs.lin.weight.data.copy_(mine.lin.weight.data)
        theirs.bias.data.copy_(mine.bias.data)
    h = data.x
    for conv, act in zip(ref, enc.acts):
        h = act(conv(h, data.edge_index, ref_weight))
    h.square().sum().backward()
    torch.testing.assert_close(weight.grad, ref_weight.grad, rtol=1e-4, atol=1e-6)
