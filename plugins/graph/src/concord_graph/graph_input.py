"""Checks at the boundary of every graph component: a bad graph is a ``ValueError`` that names
what is wrong and what to use instead, never a silent fix or an index error deep inside PyG."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData
from torch_geometric.typing import EdgeType

from concord.errors import DataError

__all__ = [
    "check_data",
    "check_edge_index",
    "check_edge_types",
    "check_graph",
    "check_hetero",
    "check_node_features",
    "edge_level_keys",
]


def check_edge_index(name: str, edge_index: Any, num_src: int, num_dst: int | None = None) -> Tensor:
    """A ``(2, E)`` integer tensor whose source ids lie in ``[0, num_src)`` and target ids in
    ``[0, num_dst)`` (``num_dst = num_src`` by default)."""
    num_dst = num_src if num_dst is None else num_dst
    if not isinstance(edge_index, Tensor):
        raise DataError(f"{name} must be a torch.Tensor of shape (2, E), got {type(edge_index).__name__}")
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        raise DataError(f"{name} must have shape (2, E), got {tuple(edge_index.shape)}")
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise DataError(f"{name} must hold integer node ids, got dtype {edge_index.dtype}")
    if edge_index.numel():
        lo_src, hi_src = int(edge_index[0].min()), int(edge_index[0].max())
        lo_dst, hi_dst = int(edge_index[1].min()), int(edge_index[1].max())
        if lo_src < 0 or lo_dst < 0:
            raise DataError(f"{name} holds a negative node id ({min(lo_src, lo_dst)})")
        if hi_src >= num_src or hi_dst >= num_dst:
            bad, n = (hi_src, num_src) if hi_src >= num_src else (hi_dst, num_dst)
            raise DataError(
                f"{name} is out of range: it refers to node {bad} but the graph has {n} nodes "
                f"(valid ids 0..{n - 1})"
            )
    return edge_index


def check_node_features(name: str, x: Any, num_nodes: int | None = None) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise DataError(f"{name} must be a 2-D tensor (num_nodes, num_features), got {shape}")
    if not x.is_floating_point():
        raise DataError(f"{name} must be floating point, got dtype {x.dtype}")
    if num_nodes is not None and x.shape[0] != num_nodes:
        raise DataError(f"{name} has {x.shape[0]} rows but the graph has {num_nodes} nodes")
    if not _all_finite(x):
        raise DataError(f"{name} contains NaN or infinite values")
    return x


#: feature tensors found finite: id -> (weak reference, version at the check)
_FINITE: dict[int, tuple[weakref.ref, int]] = {}


def _all_finite(x: Tensor) -> bool:
    """``torch.isfinite(x).all()``, remembered for a tensor until it is modified in place (its
    version changes) or freed: a training step runs its augmentations on the same feature matrix
    every time, and the scan of an ``N x F`` matrix per augmentation is a sizeable part of a GRACE
    epoch (Cora: four scans of 3.9 M entries)."""
    seen = _FINITE.get(id(x))
    if seen is not None and seen[0]() is x and seen[1] == x._version:
        return True
    if not bool(torch.isfinite(x).all()):
        return False
    for key in [k for k, (ref, _) in _FINITE.items() if ref() is None]:
        del _FINITE[key]
    _FINITE[id(x)] = (weakref.ref(x), x._version)
    return True


def check_data(data: Any, *, need_x: bool = True) -> Data:
    """A homogeneous PyG ``Data`` with (optionally) node features ``x`` and a valid ``edge_index``."""
    if isinstance(data, HeteroData):
        raise DataError("expected a homogeneous torch_geometric.data.Data, got HeteroData")
    if not isinstance(data, Data):
        raise DataError(f"expected a torch_geometric.data.Data, got {type(data).__name__}")
    x = data.x if "x" in data else None
    if need_x and x is None:
        raise DataError(
            "the graph has no node features `x`; give every node a feature row (for a graph "
            "without features use e.g. one-hot ids: data.x = torch.eye(data.num_nodes))"
        )
    if data.num_nodes is None:
        raise DataError("the graph has neither `x` nor `num_nodes`; cannot tell how many nodes it has")
    n = int(data.num_nodes)
    if x is not None:
        check_node_features("x", x, n)
    if "edge_index" not in data or data.edge_index is None:
        raise DataError("the graph has no `edge_index`")
    check_edge_index("edge_index", data.edge_index, n)
    return data


def check_hetero(data: Any, *, need_x: Iterable[str] = ()) -> HeteroData:
    """A ``HeteroData`` whose edge indices lie inside their node types and whose named node
    types carry features."""
    if not isinstance(data, HeteroData):
        raise DataError(f"expected a torch_geometric.data.HeteroData, got {type(data).__name__}")
    for node_type in need_x:
        if node_type not in data.node_types:
            raise DataError(f"node type {node_type!r} is not in the graph; node types: {data.node_types}")
        store = data[node_type]
        if "x" not in store:
            raise DataError(f"node type {node_type!r} has no features `x`")
        check_node_features(f"{node_type}.x", store.x, store.num_nodes)
    for edge_type in data.edge_types:
        src, _, dst = edge_type
        n_src, n_dst = data[src].num_nodes, data[dst].num_nodes
        if n_src is None or n_dst is None:
            raise DataError(f"edge type {edge_type} connects node types without a node count")
        check_edge_index(f"edge_index of {edge_type}", data[edge_type].edge_index, n_src, n_dst)
    return data


def check_graph(data: Any, *, need_x: bool = True) -> Data | HeteroData:
    """``Data`` (checked by :func:`check_data`) or ``HeteroData`` (edge ranges checked; every node
    type that has features must have finite 2-D ones)."""
    if isinstance(data, HeteroData):
        typed = [t for t in data.node_types if "x" in data[t]]
        if need_x and not typed:
            raise DataError("the heterogeneous graph has no node type with features `x`")
        return check_hetero(data, need_x=typed)
    return check_data(data, need_x=need_x)


def check_edge_types(data: HeteroData, edge_types: Sequence[Sequence[str]] | None) -> list[EdgeType]:
    """Resolve a list of ``[src, relation, dst]`` triples (``None``: every edge type); an edge
    type the graph does not have is an error listing the ones it has."""
    if edge_types is None:
        return list(data.edge_types)
    out = []
    for et in edge_types:
        t = tuple(et)
        if len(t) != 3 or t not in data.edge_types:
            raise DataError(f"edge type {list(et)} is not in the graph; edge types: {[list(e) for e in data.edge_types]}")
        out.append(t)
    return out


def edge_level_keys(store: Any) -> list[str]:
    """Attribute names of an edge store (or ``Data``) that hold one row per edge, besides
    ``edge_index``."""
    keys = []
    for key, value in store.items():
        if key == "edge_index" or not isinstance(value, Tensor):
            continue
        if store.is_edge_attr(key):
            keys.append(key)
    return keys
