r"""The GCN propagation matrix :math:`\hat{A} = \tilde{D}^{-1/2} \tilde{A} \tilde{D}^{-1/2}`,
:math:`\tilde{A} = A + I` (Kipf & Welling 2017, `Semi-Supervised Classification with Graph
Convolutional Networks <https://arxiv.org/abs/1609.02907>`_, Eq. 2), as a torch sparse matrix.

Degrees are *in*-degrees (PyG's ``gcn_norm`` convention, flow source -> target):
:math:`\tilde{d}_i = 1 + \sum_{j \to i} w_{ji} + \delta_i`, where :math:`\delta_i`
(``extra_degree``) counts the in-edges of node :math:`i` that are not in ``edge_index``. A
mini-batch subgraph passes the missing part of every node's full-graph degree there, so the
rows of its seed nodes equal the rows of the full graph's matrix exactly (see
:mod:`concord_graph.contrast.node_batches`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.utils import add_remaining_self_loops

from concord_graph.nn.sparse_operator import SparseOperator

__all__ = ["NormalizedAdjacency", "normalized_adjacency"]


@dataclass(frozen=True)
class NormalizedAdjacency:
    """:math:`\\hat{A}` as edge lists (``source``, ``target``, ``weight``, self loops included)."""

    source: Tensor
    target: Tensor
    weight: Tensor
    num_nodes: int

    @property
    def operator(self) -> SparseOperator:
        """:math:`\\hat{A}` as a :class:`SparseOperator` (rows = targets): ``op @ X``."""
        n = self.num_nodes
        return SparseOperator.from_entries(self.target, self.source, self.weight, (n, n))


def normalized_adjacency(
    edge_index: Tensor,
    num_nodes: int,
    edge_weight: Tensor | None = None,
    extra_degree: Tensor | None = None,
) -> NormalizedAdjacency:
    """Build :math:`\\hat{A}` for ``edge_index`` (``(2, E)``, source -> target).

    Args:
        edge_index: edges; existing self loops keep their weight, missing ones get weight 1.
        num_nodes: :math:`N`.
        edge_weight: optional ``(E,)`` weights (default: ones).
        extra_degree: optional ``(N,)`` in-degree (weight) not represented by ``edge_index``.
    """
    ei, w = add_remaining_self_loops(edge_index, edge_weight, fill_value=1.0, num_nodes=num_nodes)
    if w is None:
        w = torch.ones(ei.shape[1], device=ei.device)
    w = w.to(torch.float32)
    source, target = ei
    deg = torch.zeros(num_nodes, dtype=w.dtype, device=w.device).index_add_(0, target, w)
    if extra_degree is not None:
        deg = deg + extra_degree.to(deg)
    inv_sqrt = deg.pow(-0.5)
    inv_sqrt = inv_sqrt.masked_fill(torch.isinf(inv_sqrt), 0.0)
    return NormalizedAdjacency(source, target, inv_sqrt[source] * w * inv_sqrt[target], num_nodes)
