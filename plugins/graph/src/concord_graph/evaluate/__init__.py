"""Trustworthy linear evaluation: protocol splits with exact sizes, scikit-learn probes, k-means
NMI / ARI."""

from concord_graph.evaluate.clustering import kmeans_scores
from concord_graph.evaluate.embedding_plot import plot_embeddings
from concord_graph.evaluate.linear_probe import (
    C_GRID,
    HeteroScores,
    ProbeResult,
    hetero_probe,
    node_probe,
)
from concord_graph.evaluate.splits import PROTOCOLS, Split, protocol_split

__all__ = [
    "C_GRID",
    "PROTOCOLS",
    "HeteroScores",
    "ProbeResult",
    "Split",
    "hetero_probe",
    "kmeans_scores",
    "node_probe",
    "plot_embeddings",
    "protocol_split",
]
