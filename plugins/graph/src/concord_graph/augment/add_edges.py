"""Random edge adding (GraphCL's edge perturbation, the adding half)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData

from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_probability
from concord_graph.augment.examples import example_graph, example_hetero, same_nodes
from concord_graph.augment.graph_augmentation import GraphAugmentation
from concord_graph.graph_input import check_edge_types, edge_level_keys

__all__ = ["AddEdges"]


def _random_edges(n_src: int, n_dst: int, count: int, generator: torch.Generator | None,
                  device: torch.device, *, no_self_loops: bool) -> Tensor:
    # drawn on the CPU (where the generator lives), then moved to the graph's device
    src = torch.randint(0, n_src, (count,), generator=generator, device="cpu")
    if no_self_loops and n_dst > 1:
        # a uniform target among the n_dst - 1 others: shift past the source
        dst = torch.randint(0, n_dst - 1, (count,), generator=generator, device="cpu")
        dst = dst + (dst >= src).long()
    else:
        dst = torch.randint(0, n_dst, (count,), generator=generator, device="cpu")
    return torch.stack([src, dst]).to(device)


class AddEdges(GraphAugmentation):
    r"""Add :math:`\lfloor pE \rceil` edges between uniformly drawn node pairs (You et al. 2020,
    `GraphCL <https://arxiv.org/abs/2010.13902>`_, Sec. 3.1, "edge perturbation").

    New edges are appended after the existing ones; pairs are drawn with replacement and may
    repeat an existing edge (as GraphCL). Edge-level attributes cannot be invented for the new
    edges, so a graph that has them is refused.

    Args:
        p: number of added edges as a fraction of the current count, in [0, 1) (default: ``0.1``).
        undirected: add each new edge in both directions (default: ``False``).
        edge_types: for ``HeteroData``, the ``[src, relation, dst]`` types to add to
            (default: ``None``, all).

    Shapes:
        input ``E`` edges; output ``E + round(pE)`` (``2 round(pE)`` added when undirected).
    """

    registry_name = "graph.add_edges"

    def __init__(self, *, p: float = 0.1, undirected: bool = False,
                 edge_types: Sequence[Sequence[str]] | None = None) -> None:
        self.p = check_probability("p", p)
        self.undirected = bool(undirected)
        self.edge_types = None if edge_types is None else [list(t) for t in edge_types]

    def _grow(self, store, n_src: int, n_dst: int, generator: torch.Generator | None, where: str,
              same_type: bool) -> Tensor:
        extra = edge_level_keys(store)
        if extra:
            raise InputError(
                f"AddEdges cannot invent values of the edge attribute(s) {extra} of {where} for the "
                "new edges; delete them first or add edges before attaching them"
            )
        ei = store.edge_index
        count = round(self.p * ei.shape[1])
        new = _random_edges(n_src, n_dst, count, generator, ei.device, no_self_loops=same_type)
        if self.undirected:
            if not same_type:
                raise InputError(f"undirected=True needs an edge type between one node type, got {where}")
            new = torch.cat([new, new.flip(0)], dim=1)
        return torch.cat([ei, new.to(ei.dtype)], dim=1)

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        n = int(data.num_nodes)
        out = copy.copy(data)
        out.edge_index = self._grow(data, n, n, generator, "the graph", True)
        return out

    def augment_hetero(self, data: HeteroData, generator: torch.Generator | None) -> HeteroData:
        out = copy.copy(data)
        for et in check_edge_types(data, self.edge_types):
            src, _, dst = et
            out[et].edge_index = self._grow(
                data[et], int(data[src].num_nodes), int(data[dst].num_nodes), generator, str(et), src == dst
            )
        return out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)
        del data.edge_weight
        hetero = example_hetero(generator)
        e = data.edge_index.shape[1]

        def grown(a: Data, b: Data) -> None:
            same_nodes(a, b)
            assert torch.equal(b.edge_index[:, :e], a.edge_index), "existing edges kept in order"
            added = b.edge_index[:, e:]
            assert added.shape[1] == round(0.5 * e)
            assert bool((added[0] != added[1]).all()), "no self loops added"
            assert int(added.max()) < a.num_nodes

        def both_directions(a: Data, b: Data) -> None:
            added = b.edge_index[:, e:]
            k = added.shape[1] // 2
            assert torch.equal(added[:, k:], added[:, :k].flip(0))

        def typed(a: HeteroData, b: HeteroData) -> None:
            w = b["author", "writes", "paper"].edge_index
            assert int(w[0].max()) < a["author"].num_nodes and int(w[1].max()) < a["paper"].num_nodes

        return [
            AugmentationExample(init={"p": 0.5}, input=data, check=grown),
            AugmentationExample(init={"p": 0.5, "undirected": True}, input=data, check=both_directions),
            AugmentationExample(init={"p": 0.5}, input=hetero, check=typed),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"p": 1.0}, None, r"\[0, 1\)"),
            BadInput({"p": 0.2}, (example_graph(generator),), "cannot invent values",
                     why="edge_weight has no value for new edges"),
        ]
