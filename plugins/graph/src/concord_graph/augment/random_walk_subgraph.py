"""Random-walk subgraph sampling (GraphCL's "subgraph" augmentation)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import index_sort

from concord.augment.base import random_uniform
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_positive, check_probability
from concord_graph.augment.examples import example_graph
from concord_graph.augment.graph_augmentation import GraphAugmentation

__all__ = ["RandomWalkSubgraph", "random_walk_nodes"]


def random_walk_nodes(
    edge_index: Tensor, num_nodes: int, roots: Tensor, walk_length: int, generator: torch.Generator | None
) -> Tensor:
    """Boolean mask of the nodes visited by uniform random walks of ``walk_length`` steps from
    ``roots`` along ``edge_index`` (source -> target). A walker at a node without out-edges
    stays there. Pure torch (no torch-cluster): each step draws one uniform out-neighbour from
    the CSR layout of the edges."""
    row, col = edge_index
    order = index_sort(row, max_value=num_nodes)[1] if row.numel() else row
    col = col[order]
    deg = torch.bincount(row, minlength=num_nodes)
    rowptr = torch.zeros(num_nodes + 1, dtype=torch.long, device=row.device)
    rowptr[1:] = torch.cumsum(deg, 0)
    visited = torch.zeros(num_nodes, dtype=torch.bool, device=row.device)
    cur = roots.to(row.device)
    visited[cur] = True
    for _ in range(walk_length):
        d = deg[cur]
        pick = (random_uniform((cur.shape[0],), generator, row.device) * d).long().clamp_max((d - 1).clamp_min(0))
        nxt = col[(rowptr[cur] + pick).clamp_max(max(col.shape[0] - 1, 0))] if col.numel() else cur
        cur = torch.where(d > 0, nxt, cur)
        visited[cur] = True
    return visited


class RandomWalkSubgraph(GraphAugmentation):
    r"""Keep the subgraph induced by the nodes that random walks visit (You et al. 2020,
    `GraphCL <https://arxiv.org/abs/2010.13902>`_, Sec. 3.1, "subgraph"; the random-walk
    sampler of Qiu et al. 2020, GCC).

    :math:`R = \max(1, \lfloor rN \rceil)` distinct roots are drawn uniformly; from each a walk of
    ``walk_length`` uniform steps follows out-edges. The visited nodes are renumbered
    ``0..N'-1`` (``Data.subgraph``: node and edge attributes follow) and ``n_id`` holds their ids
    in the input.

    Args:
        root_ratio: :math:`r`, roots as a fraction of the nodes, in (0, 1] (default: ``0.1``).
        walk_length: steps per walk (default: ``10``).

    Shapes:
        input ``N`` nodes; output at most ``R (walk_length + 1)`` nodes.
    """

    registry_name = "graph.random_walk_subgraph"

    def __init__(self, *, root_ratio: float = 0.1, walk_length: int = 10) -> None:
        check_positive("root_ratio", root_ratio)
        check_probability("root_ratio", root_ratio, upper_inclusive=True)
        self.root_ratio = float(root_ratio)
        if isinstance(walk_length, bool) or not isinstance(walk_length, int) or walk_length < 0:
            raise InputError(f"walk_length must be an integer >= 0, got {walk_length!r}")
        self.walk_length = walk_length

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        n = int(data.num_nodes)
        n_roots = max(1, round(self.root_ratio * n))
        roots = torch.randperm(n, generator=generator, device="cpu")[:n_roots]  # CPU draw; moved below
        visited = random_walk_nodes(data.edge_index, n, roots, self.walk_length, generator)
        idx = visited.nonzero().view(-1)
        out = data.subgraph(idx)
        if "n_id" not in data:
            out.n_id = idx
        return out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)

        def walked(a: Data, b: Data) -> None:
            assert 1 <= b.num_nodes <= a.num_nodes
            assert torch.equal(b.x, a.x[b.n_id])
            assert b.num_nodes <= max(1, round(0.1 * a.num_nodes)) * 4
            # connected through the walk: every kept node that is not a root has a kept in-neighbour
            assert b.edge_index.shape[1] > 0

        return [AugmentationExample(init={"root_ratio": 0.1, "walk_length": 3}, input=data, check=walked)]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"root_ratio": 0.0}, None, "root_ratio"),
            BadInput({"root_ratio": 1.5}, None, "root_ratio"),
            BadInput({"walk_length": -1}, None, "walk_length"),
        ]
