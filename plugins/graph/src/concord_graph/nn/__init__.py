"""Graph neural network building blocks: the GCN propagation matrix, a constant sparse operator
with a fast backward pass, and the GCN encoder."""

from concord_graph.nn.gcn_encoder import ACTIVATIONS, GCNEncoder
from concord_graph.nn.normalized_adjacency import NormalizedAdjacency, normalized_adjacency
from concord_graph.nn.sparse_operator import SparseOperator

__all__ = ["ACTIVATIONS", "GCNEncoder", "NormalizedAdjacency", "SparseOperator", "normalized_adjacency"]
