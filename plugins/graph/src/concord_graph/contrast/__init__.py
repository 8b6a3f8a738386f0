"""Node-level contrast: GRACE / GCA, one optimisation step (with POT), and the mini-batch
machinery (exact k-hop subgraphs)."""

from concord_graph.contrast.grace import GRACE
from concord_graph.contrast.node_batches import (
    NodeBatch,
    NodeBatches,
    batched_embeddings,
    full_batch,
    in_degree,
    node_batch,
)
from concord_graph.contrast.node_contrast_step import NodeContrastStep

__all__ = [
    "GRACE",
    "NodeBatch",
    "NodeBatches",
    "NodeContrastStep",
    "batched_embeddings",
    "full_batch",
    "in_degree",
    "node_batch",
]
