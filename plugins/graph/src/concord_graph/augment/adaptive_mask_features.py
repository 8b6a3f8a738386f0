"""GCA's adaptive feature masking: dimensions common on central nodes are masked less."""

from __future__ import annotations

import copy
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

__all__ = ["AdaptiveMaskFeatures", "feature_mask_probabilities"]


def feature_mask_probabilities(x: Tensor, edge_index: Tensor, centrality: str, p: float, threshold: float,
                               weighting: str) -> Tensor:
    r""":math:`p^f_i = \min\left(\frac{s_{\max} - s_i}{s_{\max} - \mu_s} p_f, p_\tau\right)`,
    :math:`s_i = \log w_i`, :math:`w_i = \sum_u |x_{ui}| \varphi_c(u)` (GCA Eq. 9-11;
    ``weighting="binary"`` uses :math:`\mathbb{1}[x_{ui} \neq 0]` as the authors' code does for
    bag-of-words features). A dimension no node uses gets the lowest score of the others."""
    phi = node_centrality(edge_index, x.shape[0], centrality)
    if centrality == "eigenvector":
        phi = phi.clamp_min(0) + 1e-8
    occ = (x != 0).to(torch.float32) if weighting == "binary" else x.abs().to(torch.float32)
    w = occ.t() @ phi.to(occ.device)
    used = w > 0
    s = torch.zeros_like(w)
    if bool(used.any()):
        s[used] = torch.log(w[used])
        s[~used] = s[used].min()
    return (importance(s) * p).clamp_max(threshold)


class AdaptiveMaskFeatures(GraphAugmentation):
    r"""Mask feature dimension :math:`i` (for all nodes) with probability
    :math:`\min\left(\frac{s_{\max} - s_i}{s_{\max} - \mu_s} p_f, p_\tau\right)`,
    :math:`s_i = \log \sum_u x_{ui} \varphi_c(u)` (Zhu et al. 2021,
    `GCA <https://arxiv.org/abs/2010.14945>`_, Sec. 4.2.2, Eq. 9-11).

    Args:
        p: :math:`p_f` in [0, 1) (default: ``0.3``).
        centrality: ``"degree"``, ``"pagerank"`` or ``"eigenvector"`` (default: ``"degree"``).
        threshold: :math:`p_\tau` in [0, 1) (default: ``0.7``).
        weighting: ``"binary"`` (:math:`x_{ui} \ne 0`, sparse / one-hot features) or
            ``"magnitude"`` (:math:`|x_{ui}|`, dense features) (default: ``"binary"``).

    Shapes:
        x: ``(N, F)``, returned with the same shape.
    """

    registry_name = "graph.adaptive_mask_features"
    needs_features = True

    def __init__(self, *, p: float = 0.3, centrality: Literal["degree", "pagerank", "eigenvector"] = "degree",
                 threshold: float = 0.7, weighting: Literal["binary", "magnitude"] = "binary") -> None:
        self.p = check_probability("p", p)
        self.centrality = check_choice("centrality", centrality, CENTRALITIES)
        self.threshold = check_probability("threshold", threshold)
        self.weighting = check_choice("weighting", weighting, ("binary", "magnitude"))

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        prob = feature_mask_probabilities(data.x, data.edge_index, self.centrality, self.p, self.threshold,
                                          self.weighting)
        keep = random_uniform((prob.shape[0],), generator, data.x.device) >= prob.to(data.x.device)
        out = copy.copy(data)
        out.x = data.x * keep.to(data.x.dtype)
        return out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)

        def columns(a: Data, b: Data) -> None:
            same_nodes(a, b)
            kept = (b.x == a.x).all(dim=0)
            zeroed = (b.x == 0).all(dim=0)
            assert bool((kept | zeroed).all())

        return [
            AugmentationExample(init={"p": 0.5}, input=data, check=columns),
            AugmentationExample(init={"p": 0.5, "centrality": "pagerank", "weighting": "magnitude"},
                                input=data, check=columns),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        data = example_graph(generator)
        return [
            BadInput({"p": 1.2}, None, r"\[0, 1\)"),
            BadInput({"weighting": "tfidf"}, None, "weighting must be one of"),
            BadInput({}, (Data(edge_index=data.edge_index, num_nodes=data.num_nodes),), "no node features"),
        ]
