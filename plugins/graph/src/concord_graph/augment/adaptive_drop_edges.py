"""GCA's adaptive edge dropping: unimportant edges are dropped more often."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch_geometric.data import Data

from concord.augment.base import random_uniform
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_choice, check_probability
from concord_graph.augment.centrality import CENTRALITIES, importance, node_centrality
from concord_graph.augment.examples import example_graph, same_nodes
from concord_graph.augment.graph_augmentation import GraphAugmentation

__all__ = ["AdaptiveDropEdges", "edge_drop_probabilities"]


def edge_drop_probabilities(edge_index: Tensor, num_nodes: int, centrality: str, p: float,
                            threshold: float) -> Tensor:
    r""":math:`p^e_{uv} = \min\left(\frac{s_{\max} - s_{uv}}{s_{\max} - \mu_s} p_e,\; p_\tau\right)`
    with :math:`s_{uv} = \log \varphi_c(v)` (GCA Eq. 4-5; the edge's centrality is that of its
    target node, as in the authors' code)."""
    phi = node_centrality(edge_index, num_nodes, centrality)
    if centrality == "eigenvector":
        phi = phi.clamp_min(0) + 1e-8
    s = torch.log(phi.clamp_min(torch.finfo(phi.dtype).tiny))[edge_index[1]]
    return (importance(s) * p).clamp_max(threshold)


class AdaptiveDropEdges(GraphAugmentation):
    r"""Drop edge :math:`(u, v)` with probability
    :math:`\min\left(\frac{s_{\max} - s_{uv}}{s_{\max} - \mu_s} p_e, p_\tau\right)`,
    :math:`s_{uv} = \log \varphi_c(v)` (Zhu et al. 2021, `GCA <https://arxiv.org/abs/2010.14945>`_,
    Eq. 4-5): edges into central nodes survive, the others are dropped more. The mean drop
    probability is :math:`p_e` before the cap :math:`p_\tau`.

    Args:
        p: :math:`p_e` in [0, 1) (default: ``0.3``).
        centrality: ``"degree"``, ``"pagerank"`` or ``"eigenvector"`` (default: ``"degree"``).
        threshold: :math:`p_\tau` in [0, 1) (default: ``0.7``, the authors').

    Shapes:
        input ``E`` edges; output the same nodes and a subset of the edges (attributes follow).
    """

    registry_name = "graph.adaptive_drop_edges"

    def __init__(self, *, p: float = 0.3, centrality: Literal["degree", "pagerank", "eigenvector"] = "degree",
                 threshold: float = 0.7) -> None:
        self.p = check_probability("p", p)
        self.centrality = check_choice("centrality", centrality, CENTRALITIES)
        self.threshold = check_probability("threshold", threshold)

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        prob = edge_drop_probabilities(data.edge_index, int(data.num_nodes), self.centrality, self.p, self.threshold)
        keep = random_uniform((prob.shape[0],), generator, prob.device) >= prob
        return data.edge_subgraph(keep)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)

        def subset(a: Data, b: Data) -> None:
            same_nodes(a, b)
            assert b.edge_index.shape[1] < a.edge_index.shape[1]
            assert {tuple(e) for e in b.edge_index.t().tolist()} <= {tuple(e) for e in a.edge_index.t().tolist()}

        return [
            AugmentationExample(init={"p": 0.5, "centrality": c}, input=data, check=subset) for c in CENTRALITIES
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"p": 1.0}, None, r"\[0, 1\)"),
            BadInput({"centrality": "betweenness"}, None, "centrality must be one of"),
            BadInput({"threshold": 1.0}, None, "threshold"),
        ]
