"""Graph augmentations on PyG ``Data`` / ``HeteroData``: pure functions of a graph and an explicit
generator, registered as ``graph.*`` in ``concord.augmentations`` and composable with
:class:`concord.augment.Compose`."""

from concord_graph.augment.adaptive_drop_edges import AdaptiveDropEdges
from concord_graph.augment.adaptive_mask_features import AdaptiveMaskFeatures
from concord_graph.augment.add_edges import AddEdges
from concord_graph.augment.diffusion import Diffusion
from concord_graph.augment.drop_edges import DropEdges
from concord_graph.augment.drop_nodes import DropNodes
from concord_graph.augment.graph_augmentation import GraphAugmentation
from concord_graph.augment.mask_features import MaskFeatures
from concord_graph.augment.random_walk_subgraph import RandomWalkSubgraph

__all__ = [
    "AdaptiveDropEdges",
    "AdaptiveMaskFeatures",
    "AddEdges",
    "Diffusion",
    "DropEdges",
    "DropNodes",
    "GraphAugmentation",
    "MaskFeatures",
    "RandomWalkSubgraph",
]
