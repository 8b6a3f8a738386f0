r"""Mini-batches of nodes with their induced :math:`k`-hop subgraphs (no pyg-lib needed).

A batch is a set of *seed* nodes; its graph is the subgraph induced by every node within
:math:`k` hops of a seed (``torch_geometric.utils.k_hop_subgraph``), :math:`k` = the encoder's
depth. Each subgraph node carries ``extra_degree``, its in-degree in the full graph minus its
in-degree in the subgraph, so the GCN normalisation of a seed's whole receptive field equals the
full graph's and a :math:`k`-layer GCN gives the seeds *exactly* their full-graph embeddings
(tested). Augmentations are applied to the subgraph; a view then equals a full-graph view in
which the edges outside the subgraph are kept.

Under ``torchrun`` every process walks the same seeded permutation and takes its own slice of
each global batch, so the global batch is the same as a single process would draw.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import k_hop_subgraph

from concord.errors import InputError

__all__ = ["NodeBatch", "NodeBatches", "batched_embeddings", "full_batch", "in_degree", "node_batch"]


@dataclass(frozen=True)
class NodeBatch:
    """A subgraph (``Data`` with ``extra_degree`` and ``n_id``) and the positions of its seeds."""

    graph: Data
    seeds: Tensor

    @property
    def seed_ids(self) -> Tensor:
        return self.graph.n_id[self.seeds]


def in_degree(data: Data) -> Tensor:
    """Weighted in-degree of every node (``edge_weight`` when present), self loops excluded."""
    row, col = data.edge_index
    w = data.edge_weight if "edge_weight" in data else torch.ones(col.shape[0], device=col.device)
    w = torch.where(row == col, torch.zeros_like(w), w).to(torch.float32)
    return torch.zeros(int(data.num_nodes), device=col.device).index_add_(0, col, w)


def full_batch(data: Data) -> NodeBatch:
    """The whole graph as one batch (every node a seed)."""
    graph = data.clone() if "n_id" in data else data.__copy__()
    if "n_id" not in data:
        graph.n_id = torch.arange(int(data.num_nodes), device=data.edge_index.device)
    return NodeBatch(graph, torch.arange(int(data.num_nodes), device=data.edge_index.device))


def node_batch(data: Data, seed_ids: Tensor, num_hops: int, degree: Tensor | None = None) -> NodeBatch:
    """The batch of ``seed_ids`` with its induced ``num_hops``-hop subgraph.

    Args:
        data: the full graph.
        seed_ids: ``(B,)`` node ids.
        num_hops: :math:`k`, at least the encoder's number of layers for exact embeddings.
        degree: :func:`in_degree` of ``data`` (computed when not given; pass it to save time).
    """
    n = int(data.num_nodes)
    subset, edge_index, mapping, edge_mask = k_hop_subgraph(
        seed_ids, num_hops, data.edge_index, relabel_nodes=True, num_nodes=n
    )
    graph = Data(x=data.x[subset] if "x" in data else None, edge_index=edge_index, num_nodes=subset.shape[0])
    for key in ("y",):
        if key in data:
            graph[key] = data[key][subset]
    if "edge_weight" in data:
        graph.edge_weight = data.edge_weight[edge_mask]
    full = in_degree(data) if degree is None else degree
    graph.extra_degree = (full[subset] - in_degree(graph)).clamp_min(0)
    graph.n_id = subset
    return NodeBatch(graph, mapping)


class NodeBatches:
    """One epoch of random node batches.

    Args:
        data: the full graph.
        batch_size: global batch size (seeds per step over all processes).
        num_hops: subgraph radius :math:`k`.
        generator: draws the permutation; seed it the same on every process.
        rank, world_size: this process's slice of each global batch (default: single process).
        drop_last: skip a final batch smaller than ``batch_size`` (default: ``False``).
    """

    def __init__(self, data: Data, batch_size: int, num_hops: int, generator: torch.Generator, *,
                 rank: int = 0, world_size: int = 1, drop_last: bool = False) -> None:
        if batch_size < 2 * world_size:
            raise InputError(f"batch_size must be >= 2 per process, got {batch_size} for {world_size} process(es)")
        self.data = data
        self.batch_size = batch_size
        self.num_hops = num_hops
        self.generator = generator
        self.rank = rank
        self.world_size = world_size
        self.drop_last = drop_last
        self.degree = in_degree(data)

    def __len__(self) -> int:
        n = int(self.data.num_nodes)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[NodeBatch]:
        n = int(self.data.num_nodes)
        perm = torch.randperm(n, generator=self.generator)
        for i in range(len(self)):
            seeds = perm[i * self.batch_size : (i + 1) * self.batch_size]
            if seeds.shape[0] < 2 * self.world_size:
                continue
            mine = torch.tensor_split(seeds, self.world_size)[self.rank]
            yield node_batch(self.data, mine.to(self.data.edge_index.device), self.num_hops, self.degree)


@torch.no_grad()
def batched_embeddings(encode, data: Data, batch_size: int | None, num_hops: int) -> Tensor:
    """Embeddings of every node: one forward pass on the whole graph (``batch_size=None``), or
    seeds in order, ``batch_size`` at a time, each on its exact :math:`k`-hop subgraph (same
    values, bounded memory). ``encode`` maps a ``Data`` to node embeddings."""
    if batch_size is None:
        return encode(data)
    n = int(data.num_nodes)
    degree = in_degree(data)
    parts = []
    for start in range(0, n, batch_size):
        seeds = torch.arange(start, min(start + batch_size, n), device=data.edge_index.device)
        b = node_batch(data, seeds, num_hops, degree)
        parts.append(encode(b.graph)[b.seeds])
    return torch.cat(parts)
