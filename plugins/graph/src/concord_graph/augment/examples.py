"""Small graphs the augmentations declare as contract examples (and their shared checks)."""

from __future__ import annotations

import torch
from torch_geometric.data import Data, HeteroData

from concord_graph.data.synthetic import sbm_graph

__all__ = ["example_graph", "example_hetero", "same_nodes"]


def example_graph(generator: torch.Generator) -> Data:
    """24 nodes in 3 classes, symmetric edges with an ``edge_weight`` column."""
    data = sbm_graph(num_nodes=24, num_classes=3, num_edges=60, homophily=0.8, num_features=10,
                     generator=generator)
    data.edge_weight = torch.rand(data.edge_index.shape[1], generator=generator) + 0.5
    return data


def example_hetero(generator: torch.Generator) -> HeteroData:
    """Papers (with features) citing papers, authors writing papers."""
    data = HeteroData()
    data["paper"].x = torch.randn(12, 6, generator=generator)
    data["author"].x = torch.randn(8, 4, generator=generator)
    cites = torch.randint(0, 12, (2, 30), generator=generator)
    writes = torch.stack([torch.randint(0, 8, (20,), generator=generator),
                          torch.randint(0, 12, (20,), generator=generator)])
    data["paper", "cites", "paper"].edge_index = cites
    data["author", "writes", "paper"].edge_index = writes
    data["paper", "rev_writes", "author"].edge_index = writes.flip(0)
    return data


def same_nodes(a: Data, b: Data) -> None:
    assert b.num_nodes == a.num_nodes, "node count unchanged"
    if "x" in a:
        assert b.x.shape == a.x.shape, "feature shape unchanged"
