"""Uniform edge dropping (GRACE's "removing edges")."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData

from concord.augment.base import random_uniform
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability
from concord_graph.augment.examples import example_graph, example_hetero, same_nodes
from concord_graph.augment.graph_augmentation import GraphAugmentation
from concord_graph.graph_input import check_edge_types

__all__ = ["DropEdges", "edge_keep_mask"]


def edge_keep_mask(
    edge_index: Tensor, p: float, generator: torch.Generator | None, *, undirected: bool
) -> Tensor:
    """Boolean mask of the edges kept when each is removed with probability ``p``. With
    ``undirected=True`` the two directions ``(u, v)`` and ``(v, u)`` share one draw."""
    if not undirected:
        return random_uniform((edge_index.shape[1],), generator, edge_index.device) >= p
    lo = torch.minimum(edge_index[0], edge_index[1])
    hi = torch.maximum(edge_index[0], edge_index[1])
    n = int(hi.max()) + 1 if hi.numel() else 1
    _, pair = torch.unique(lo * n + hi, return_inverse=True)
    n_pairs = int(pair.max()) + 1 if pair.numel() else 0
    return (random_uniform((n_pairs,), generator, edge_index.device) >= p)[pair]


class DropEdges(GraphAugmentation):
    r"""Remove each edge independently with probability :math:`p` (Zhu et al. 2020, `Deep Graph
    Contrastive Representation Learning <https://arxiv.org/abs/2006.04131>`_, Sec. 3.2.1:
    :math:`\tilde{A} = A \circ R`, :math:`R_{ij} \sim \mathrm{Bernoulli}(1 - p)`).

    Every edge-level attribute (``edge_attr``, ``edge_weight``, ...) is filtered with the edges.
    On ``HeteroData`` the listed edge types (default: all) are thinned independently.

    Args:
        p: drop probability in [0, 1) (default: ``0.2``).
        undirected: drop the two directions of an edge together (default: ``False``, as GRACE,
            which draws every stored direction independently).
        edge_types: for ``HeteroData``, the ``[src, relation, dst]`` types to thin
            (default: ``None``, all).

    Shapes:
        input: a graph with ``E`` edges; output: the same nodes, about ``(1 - p) E`` edges.
    """

    registry_name = "graph.drop_edges"

    def __init__(
        self, *, p: float = 0.2, undirected: bool = False,
        edge_types: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.p = check_probability("p", p)
        self.undirected = bool(undirected)
        self.edge_types = None if edge_types is None else [list(t) for t in edge_types]

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        keep = edge_keep_mask(data.edge_index, self.p, generator, undirected=self.undirected)
        return data.edge_subgraph(keep)

    def augment_hetero(self, data: HeteroData, generator: torch.Generator | None) -> HeteroData:
        masks = {}
        for et in check_edge_types(data, self.edge_types):
            masks[et] = edge_keep_mask(data[et].edge_index, self.p, generator, undirected=self.undirected)
        return data.edge_subgraph(masks)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)
        hetero = example_hetero(generator)

        def fewer_edges_same_nodes(a: Data, b: Data) -> None:
            same_nodes(a, b)
            kept = {tuple(e) for e in b.edge_index.t().tolist()}
            assert kept <= {tuple(e) for e in a.edge_index.t().tolist()}, "only original edges remain"
            assert b.edge_index.shape[1] < a.edge_index.shape[1], "some edges are dropped"
            assert b.edge_weight.shape[0] == b.edge_index.shape[1], "edge attributes follow the edges"

        def symmetric(a: Data, b: Data) -> None:
            e = {tuple(x) for x in b.edge_index.t().tolist()}
            assert all((v, u) in e for u, v in e), "both directions are kept or dropped together"

        def hetero_thinned(a: HeteroData, b: HeteroData) -> None:
            assert b["paper", "cites", "paper"].edge_index.shape[1] <= a["paper", "cites", "paper"].edge_index.shape[1]
            assert torch.equal(b["author", "writes", "paper"].edge_index, a["author", "writes", "paper"].edge_index)

        return [
            AugmentationExample(init={"p": 0.5}, input=data, check=fewer_edges_same_nodes),
            AugmentationExample(init={"p": 0.5, "undirected": True}, input=data, check=symmetric),
            AugmentationExample(
                init={"p": 0.5, "edge_types": [["paper", "cites", "paper"]]}, input=hetero,
                check=hetero_thinned,
            ),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        data = example_graph(generator)
        broken = data.clone()
        broken.edge_index = broken.edge_index.clone()
        broken.edge_index[1, 0] = data.num_nodes + 3
        return [
            BadInput({"p": 1.0}, None, r"\[0, 1\)", why="drop rate 1 removes every edge"),
            BadInput({"p": -0.1}, None, r"\[0, 1\)"),
            BadInput({"p": 0.2}, (broken,), "out of range"),
            BadInput({"p": 0.2, "edge_types": [["paper", "likes", "paper"]]}, (example_hetero(generator),),
                     "not in the graph"),
            BadInput({"p": 0.2}, (data.x,), "expected a torch_geometric"),
        ]
