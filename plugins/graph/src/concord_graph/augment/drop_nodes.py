"""Node dropping (GraphCL)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData

from concord.augment.base import random_uniform
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_probability
from concord_graph.augment.examples import example_graph, example_hetero
from concord_graph.augment.graph_augmentation import GraphAugmentation

__all__ = ["DropNodes"]


def _keep_nodes(num_nodes: int, p: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    keep = random_uniform((num_nodes,), generator, device) >= p
    if num_nodes and not bool(keep.any()):  # never return an empty graph
        keep[int(torch.randint(num_nodes, (1,), generator=generator, device="cpu"))] = True
    return keep


def _device(data: HeteroData) -> torch.device:
    """Where the graph's tensors live (the first one found; CPU for a graph without any)."""
    for store in data.stores:
        for value in store.values():
            if isinstance(value, Tensor):
                return value.device
    return torch.device("cpu")


class DropNodes(GraphAugmentation):
    r"""Remove each node with probability :math:`p`, with every edge touching it (You et al. 2020,
    `Graph Contrastive Learning with Augmentations <https://arxiv.org/abs/2010.13902>`_, Sec. 3.1,
    "node dropping").

    With ``relabel=True`` the kept nodes are renumbered ``0..N'-1`` (``Data.subgraph``: every
    node- and edge-level attribute follows) and ``n_id`` holds their ids in the input, so node
    views can be aligned. With ``relabel=False`` the node set is kept and only the edges of the
    dropped nodes are removed (PyG's ``dropout_node`` semantics), which keeps node views aligned
    one to one. At least one node is always kept.

    Args:
        p: drop probability in [0, 1) (default: ``0.1``).
        relabel: remove the dropped nodes themselves (default: ``True``).
        node_types: for ``HeteroData``, the node types to thin (default: ``None``, all).

    Shapes:
        input ``N`` nodes; output about ``(1 - p) N`` nodes (``relabel=True``) or ``N``.
    """

    registry_name = "graph.drop_nodes"

    def __init__(self, *, p: float = 0.1, relabel: bool = True, node_types: Sequence[str] | None = None) -> None:
        self.p = check_probability("p", p)
        self.relabel = bool(relabel)
        self.node_types = None if node_types is None else list(node_types)

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        keep = _keep_nodes(int(data.num_nodes), self.p, generator, data.edge_index.device)
        if not self.relabel:
            row, col = data.edge_index
            return data.edge_subgraph(keep[row] & keep[col])
        idx = keep.nonzero().view(-1)
        out = data.subgraph(idx)
        if "n_id" not in data:
            out.n_id = idx
        return out

    def augment_hetero(self, data: HeteroData, generator: torch.Generator | None) -> HeteroData:
        types = data.node_types if self.node_types is None else self.node_types
        for t in types:
            if t not in data.node_types:
                raise InputError(f"node type {t!r} is not in the graph; node types: {data.node_types}")
        device = _device(data)
        keep = {t: _keep_nodes(int(data[t].num_nodes), self.p, generator, device) for t in types}
        if not self.relabel:
            masks = {}
            for et in data.edge_types:
                src, _, dst = et
                row, col = data[et].edge_index
                m = torch.ones(row.shape[0], dtype=torch.bool, device=row.device)
                if src in keep:
                    m &= keep[src][row]
                if dst in keep:
                    m &= keep[dst][col]
                masks[et] = m
            return data.edge_subgraph(masks)
        subset = {t: keep[t].nonzero().view(-1) for t in types}
        out = data.subgraph(subset)
        for t, idx in subset.items():
            if "n_id" not in data[t]:
                out[t].n_id = idx
        return out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)

        def induced(a: Data, b: Data) -> None:
            assert b.num_nodes < a.num_nodes and b.x.shape[0] == b.num_nodes
            assert torch.equal(b.x, a.x[b.n_id]), "features follow their nodes"
            assert torch.equal(b.y, a.y[b.n_id])
            orig = {tuple(e) for e in a.edge_index.t().tolist()}
            for u, v in b.edge_index.t().tolist():
                assert (int(b.n_id[u]), int(b.n_id[v])) in orig, "only edges between kept nodes"

        def aligned(a: Data, b: Data) -> None:
            assert b.num_nodes == a.num_nodes and torch.equal(b.x, a.x)
            assert b.edge_index.shape[1] < a.edge_index.shape[1]

        def hetero_ok(a: HeteroData, b: HeteroData) -> None:
            assert b["paper"].num_nodes <= a["paper"].num_nodes
            assert torch.equal(b["paper"].x, a["paper"].x[b["paper"].n_id])

        return [
            AugmentationExample(init={"p": 0.3}, input=data, check=induced),
            AugmentationExample(init={"p": 0.3, "relabel": False}, input=data, check=aligned),
            AugmentationExample(init={"p": 0.3}, input=example_hetero(generator), check=hetero_ok),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"p": 1.0}, None, r"\[0, 1\)"),
            BadInput({"p": 1.5}, None, r"\[0, 1\)"),
            BadInput({"node_types": ["venue"]}, (example_hetero(generator),), "not in the graph"),
        ]
