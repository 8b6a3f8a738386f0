"""Graph data: Planetoid read offline, HeCo-format heterogeneous folders, generated SBM graphs."""

from concord_graph.data.datasets import GENERATED, load_graph
from concord_graph.data.heco import load_heco
from concord_graph.data.planetoid import PLANETOID_NAMES, load_planetoid
from concord_graph.data.synthetic import sbm_graph

__all__ = ["GENERATED", "PLANETOID_NAMES", "load_graph", "load_heco", "load_planetoid", "sbm_graph"]
