"""Heterogeneous graph contrast: meta-path views of ``HeteroData`` (PyG's ``AddMetaPaths``),
PathSim neighbour selection, meta-path contexts, MEOW / AdaMEOW and their losses."""

from concord_graph.hetero.adameow_loss import AdaMEOWLoss
from concord_graph.hetero.meow import MEOW, MeowOutput
from concord_graph.hetero.meow_inputs import (
    MeowInputs,
    MetaPathView,
    masked_adjacency,
    prepare_meow_inputs,
)
from concord_graph.hetero.meow_loss import MEOWLoss, cluster_weights
from concord_graph.hetero.metapaths import metapath_graph, resolve_metapath
from concord_graph.hetero.pathsim import pathsim_top_k
from concord_graph.hetero.proto_nce import proto_nce
from concord_graph.hetero.prototypes import Clustering, cluster_prototypes

__all__ = [
    "MEOW",
    "AdaMEOWLoss",
    "Clustering",
    "MEOWLoss",
    "MeowInputs",
    "MeowOutput",
    "MetaPathView",
    "cluster_prototypes",
    "cluster_weights",
    "masked_adjacency",
    "metapath_graph",
    "pathsim_top_k",
    "prepare_meow_inputs",
    "proto_nce",
    "resolve_metapath",
]
