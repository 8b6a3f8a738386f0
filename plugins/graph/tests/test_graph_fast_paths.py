"""The fast paths of a GRACE epoch give the results of the slow ones: the encoder's sparse first
layer (``encoder.sparse_input``: the same embeddings and gradients as the dense product, for dense
features converted on the fly and for sparse tensors) and the remembered feature check."""

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


def test_feature_check_is_remembered_until_the_tensor_changes(monkeypatch):
    # catches: a cache that hides NaNs written into an already checked tensor, or one keyed by
    # a recycled id
    import pytest

    from concord.errors import DataError
    from concord_graph import graph_input

    calls = []
    real = torch.isfinite
    monkeypatch.setattr(graph_input.torch, "isfinite", lambda t: calls.append(1) or real(t))
    x = torch.rand(5, 3)
    graph_input.check_node_features("x", x)
    graph_input.check_node_features("x", x)
    assert len(calls) == 1  # unchanged: not rescanned
    x[2, 1] = float("nan")  # in place: the version changes
    with pytest.raises(DataError, match="NaN"):
        graph_input.check_node_features("x", x)
    y = torch.rand(5, 3)
    del x
    z = torch.full((5, 3), float("inf"))  # may reuse the freed id: must still be scanned
    with pytest.raises(DataError, match="NaN"):
        graph_input.check_node_features("z", z)
    graph_input.check_node_features("y", y)
