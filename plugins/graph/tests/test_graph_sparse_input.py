"""The encoder's sparse first layer (``encoder.sparse_input``): the same embeddings and gradients
as the dense product, for dense features converted on the fly and for sparse tensors."""

from __future__ import annotations

import torch

from concord_graph.data.synthetic import sbm_graph
from concord_graph.nn import GCNEncoder


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_sparse_first_layer_gives_the_dense_result():
    data = sbm_graph(num_nodes=40, num_classes=2, num_edges=90, num_features=12, generator=_gen(15))
    x = torch.where(torch.rand(40, 12, generator=_gen(16)) < 0.8, torch.zeros(40, 12), data.x)
    torch.manual_seed(1)
    dense = GCNEncoder(12, 4, num_layers=2)
    sparse = GCNEncoder(12, 4, num_layers=2, sparse_input=True)
    sparse.load_state_dict(dense.state_dict())
    a, b = dense(x, data.edge_index), sparse(x, data.edge_index)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(sparse(x.to_sparse(), data.edge_index), a)
    a.square().sum().backward()
    b.square().sum().backward()
    for p, q in zip(dense.parameters(), sparse.parameters()):
        torch.testing.assert_close(p.grad, q.grad)
    assert "sparse_input=True" in repr(sparse)
