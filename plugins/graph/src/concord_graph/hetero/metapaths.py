"""Meta-paths of a ``HeteroData``: resolution of their names and their graphs via PyG's
``AddMetaPaths``."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.transforms import AddMetaPaths
from torch_geometric.typing import EdgeType

from concord.errors import DataError

__all__ = ["metapath_graph", "resolve_metapath"]


def resolve_metapath(data: HeteroData, spec: Sequence[Any]) -> list[EdgeType]:
    """Edge types of a meta-path given as node types (``["paper", "author", "paper"]``: each hop
    must be served by exactly one edge type) or as edge types (``[["paper", "to", "author"],
    ["author", "rev_to", "paper"]]``). A hop the graph has no edge type for is an error listing
    the edge types it has."""
    if not spec:
        raise DataError("a meta-path needs at least one hop")
    if all(isinstance(s, str) for s in spec):
        if len(spec) < 2:
            raise DataError(f"a meta-path of node types needs at least two types, got {list(spec)}")
        hops = []
        for src, dst in itertools.pairwise(spec):
            found = [et for et in data.edge_types if et[0] == src and et[2] == dst]
            if len(found) != 1:
                why = "no" if not found else f"{len(found)} ({found})"
                raise DataError(
                    f"meta-path {list(spec)}: {why} edge type from {src!r} to {dst!r}; edge types: "
                    f"{[list(e) for e in data.edge_types]}"
                )
            hops.append(found[0])
        return hops
    hops = [tuple(s) for s in spec]
    for i, et in enumerate(hops):
        if len(et) != 3 or et not in data.edge_types:
            raise DataError(
                f"meta-path hop {list(et)} names an edge type the graph does not have; edge types: "
                f"{[list(e) for e in data.edge_types]}"
            )
        if i and hops[i - 1][2] != et[0]:
            raise DataError(f"meta-path hops {list(hops[i - 1])} and {list(et)} do not connect")
    return hops


def metapath_graph(data: HeteroData, hops: list[EdgeType]) -> tuple[Tensor, Tensor]:
    """Edges of the meta-path graph and their path-instance counts :math:`M_{ij}` (the number of
    meta-path instances from ``i`` to ``j``), from ``AddMetaPaths(weighted=True)``."""
    if hops[0][0] != hops[-1][2]:
        raise DataError(f"meta-path {hops} must start and end at the same node type")
    slim = HeteroData()
    for t in {h[0] for h in hops} | {h[2] for h in hops}:
        slim[t].num_nodes = data[t].num_nodes
    for h in hops:
        slim[h].edge_index = data[h].edge_index
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's beta notice of sparse CSR tensors
        out = AddMetaPaths(metapaths=[hops], weighted=True)(slim)
    store = out[hops[0][0], "metapath_0", hops[-1][2]]
    return store.edge_index, store.edge_weight.to(torch.float32)
