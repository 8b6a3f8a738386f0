"""Everything MEOW reads from a ``HeteroData``, prepared once: meta-path graphs (PathSim top-k),
their normalised adjacencies, the coarse view's averaged adjacency and the meta-path contexts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.typing import EdgeType

from concord.errors import DataError
from concord_graph.augment.drop_edges import edge_keep_mask
from concord_graph.graph_input import check_hetero
from concord_graph.hetero.metapaths import metapath_graph, resolve_metapath
from concord_graph.hetero.pathsim import pathsim_top_k
from concord_graph.nn.sparse_operator import SparseOperator

__all__ = ["MeowInputs", "MetaPathView", "masked_adjacency", "prepare_meow_inputs", "symmetric_adjacency"]


@dataclass(frozen=True)
class MetaPathView:
    """One meta-path: its hops, its PathSim-selected graph (with path counts), the normalised
    adjacency of that graph and the context matrices (row-normalised reachability of each
    intermediate node type along the meta-path's prefix)."""

    hops: list[EdgeType]
    edge_index: Tensor
    counts: Tensor
    adjacency: SparseOperator
    contexts: list[tuple[str, SparseOperator]]

    @property
    def name(self) -> str:
        return "".join(h[0][0] for h in self.hops) + self.hops[-1][2][0]


@dataclass(frozen=True)
class MeowInputs:
    target: str
    num_nodes: int
    x: dict[str, Tensor]
    views: list[MetaPathView]
    coarse: SparseOperator


def _sparse(rows: Tensor, cols: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), values, shape, device=values.device).coalesce()


def _entries(edge_index: Tensor, weights: Tensor, num_nodes: int) -> tuple[Tensor, Tensor, Tensor]:
    row, col = edge_index
    deg = torch.zeros(num_nodes, dtype=weights.dtype, device=weights.device).index_add_(0, row, weights)
    inv = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
    return row, col, inv[row] * weights * inv[col]


def symmetric_adjacency(edge_index: Tensor, weights: Tensor, num_nodes: int) -> SparseOperator:
    r""":math:`D^{-1/2} A D^{-1/2}` with :math:`D_{ii} = \sum_j A_{ij}` (MEOW's ``normalize_adj``,
    applied to the count-weighted meta-path graph that already holds the self loops)."""
    return SparseOperator.from_entries(*_entries(edge_index, weights, num_nodes), (num_nodes, num_nodes))


def masked_adjacency(view: MetaPathView, p: float, generator: torch.Generator | None, num_nodes: int) -> SparseOperator:
    """MEOW's masked view of a meta-path graph: its off-diagonal edges dropped with probability
    ``p`` (:func:`concord_graph.augment.drop_edges.edge_keep_mask`), the rest unweighted, self
    loops added, symmetrically normalised (the authors' ``mask_edges``)."""
    row, col = view.edge_index
    off = row != col
    ei = view.edge_index[:, off]
    keep = edge_keep_mask(ei, p, generator, undirected=False)
    ei = ei[:, keep]
    loops = torch.arange(num_nodes, device=ei.device)
    ei = torch.cat([ei, torch.stack([loops, loops])], dim=1)
    return symmetric_adjacency(ei, torch.ones(ei.shape[1], device=ei.device), num_nodes)


def _contexts(data: HeteroData, hops: list[EdgeType]) -> list[tuple[str, SparseOperator]]:
    """For each intermediate position k of the meta-path, the row-normalised matrix of the type-
    ``t_k`` nodes reachable from each target node along the first k hops."""
    out = []
    reach = None
    for hop in hops[:-1]:
        src, _, dst = hop
        ei = data[hop].edge_index
        step = _sparse(ei[0], ei[1], torch.ones(ei.shape[1], device=ei.device),
                       (data[src].num_nodes, data[dst].num_nodes))
        reach = step if reach is None else torch.sparse.mm(reach, step).coalesce()
        idx = reach.indices()
        ones = torch.ones(idx.shape[1], device=idx.device)
        count = torch.zeros(reach.shape[0], device=idx.device).index_add_(0, idx[0], ones)
        inv = 1.0 / count.clamp_min(1.0)
        reach = _sparse(idx[0], idx[1], ones, tuple(reach.shape))
        out.append((dst, SparseOperator.from_entries(idx[0], idx[1], inv[idx[0]], tuple(reach.shape))))
    return out


def prepare_meow_inputs(data: HeteroData, metapaths: Sequence[Sequence[Any]], top_k: Sequence[int]) -> MeowInputs:
    """Resolve the meta-paths (an absent edge type is an error), build their graphs with
    ``AddMetaPaths``, keep each node's ``top_k`` PathSim neighbours, normalise, and average the
    adjacencies for the coarse view (MEOW's ``adj = stack(adjs).mean(0)``)."""
    if len(top_k) != len(metapaths):
        raise DataError(f"top_k needs one entry per meta-path ({len(metapaths)}), got {list(top_k)}")
    resolved = [resolve_metapath(data, m) for m in metapaths]
    targets = {h[0][0] for h in resolved}
    if len(targets) != 1:
        raise DataError(f"all meta-paths must start at the same node type, got {sorted(targets)}")
    target = targets.pop()
    context_types = {h[2] for hops in resolved for h in hops[:-1]}
    check_hetero(data, need_x=[target, *sorted(context_types)])
    n = int(data[target].num_nodes)
    views, parts = [], []
    for hops, k in zip(resolved, top_k):
        ei, counts = metapath_graph(data, hops)
        ei, counts = pathsim_top_k(ei, counts, n, int(k))
        views.append(MetaPathView(hops, ei, counts, symmetric_adjacency(ei, counts, n), _contexts(data, hops)))
        parts.append(_entries(ei, counts, n))
    rows = torch.cat([p[0] for p in parts])
    cols = torch.cat([p[1] for p in parts])
    vals = torch.cat([p[2] for p in parts]) / len(parts)
    coarse = SparseOperator.from_entries(rows, cols, vals, (n, n))
    x = {t: data[t].x.to(torch.float32) for t in [target, *sorted(context_types)]}
    return MeowInputs(target, n, x, views, coarse)
