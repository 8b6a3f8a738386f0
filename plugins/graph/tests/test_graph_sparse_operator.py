"""SparseOperator: S x and its gradients, for the features and for the matrix's values (a learned
``edge_weight`` must be trained, not silently cut off), checked against a dense product and finite
differences (the encoder with learned edge weights against PyG's GCNConv: test_graph_grace.py)."""

from __future__ import annotations

import torch

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
