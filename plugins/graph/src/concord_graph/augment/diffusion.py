"""Graph diffusion views (PPR / heat kernel) through PyG's ``GDC``."""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch_geometric.data import Data
from torch_geometric.transforms import GDC

from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_choice, check_positive
from concord_graph.augment.examples import example_graph, same_nodes
from concord_graph.augment.graph_augmentation import GraphAugmentation
from concord_graph.graph_input import edge_level_keys

__all__ = ["Diffusion"]


class Diffusion(GraphAugmentation):
    r"""Replace the edges by a sparsified diffusion matrix (Gasteiger et al. 2019, `Diffusion
    Improves Graph Learning <https://arxiv.org/abs/1911.05485>`_, Eq. 1; the second view of
    MVGRL, Hassani & Khasahmadi 2020):

    .. math::
        S = \sum_{k \ge 0} \theta_k T^k, \qquad
        \theta_k^{\mathrm{PPR}} = \alpha (1-\alpha)^k, \quad
        \theta_k^{\mathrm{heat}} = e^{-t} \frac{t^k}{k!},

    with :math:`T = D^{-1/2}(A + I)D^{-1/2}`, computed exactly by PyG's ``GDC`` (dense
    :math:`O(N^2)` memory: for small and medium graphs) and sparsified to the top-``k`` entries
    per column. The weights land in ``edge_weight``, which the encoders of this package read.
    Deterministic: the generator is not used.

    Args:
        method: ``"ppr"`` or ``"heat"`` (default: ``"ppr"``).
        alpha: PPR teleport probability in (0, 1) (default: ``0.15``).
        t: heat-kernel time (default: ``5.0``).
        k: entries kept per column (default: ``64``).

    Shapes:
        input ``N`` nodes; output the same nodes with at most ``kN`` weighted edges.
    """

    registry_name = "graph.diffusion"

    def __init__(self, *, method: Literal["ppr", "heat"] = "ppr", alpha: float = 0.15, t: float = 5.0,
                 k: int = 64) -> None:
        self.method = check_choice("method", method, ("ppr", "heat"))
        self.alpha = check_positive("alpha", alpha)
        if not self.alpha < 1:
            raise InputError(f"alpha must lie in (0, 1), got {alpha!r}")
        self.t = check_positive("t", t)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError(f"k must be an integer >= 1, got {k!r}")
        self.k = k

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        extra = [key for key in edge_level_keys(data) if key != "edge_weight"]
        if extra:
            raise InputError(
                f"Diffusion replaces the edges, so the edge attribute(s) {extra} cannot be carried "
                "over; delete them first (an `edge_weight` column is used as the edge weights)"
            )
        kwargs = {"alpha": self.alpha} if self.method == "ppr" else {"t": self.t}
        gdc = GDC(
            self_loop_weight=1.0, normalization_in="sym", normalization_out="col",
            diffusion_kwargs={"method": self.method, **kwargs},
            sparsification_kwargs={"method": "topk", "k": min(self.k, int(data.num_nodes)), "dim": 0},
            exact=True,
        )
        weights = data.edge_weight if "edge_weight" in data else None
        diffused = gdc(Data(edge_index=data.edge_index, edge_attr=weights, num_nodes=data.num_nodes))
        out = copy.copy(data)
        out.edge_index = diffused.edge_index
        out.edge_weight = diffused.edge_attr
        return out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)

        def dense_weighted(a: Data, b: Data) -> None:
            same_nodes(a, b)
            assert b.edge_weight.shape[0] == b.edge_index.shape[1]
            assert bool((b.edge_weight > 0).all())
            counts = torch.bincount(b.edge_index[1], minlength=b.num_nodes)
            assert int(counts.max()) <= 8, "top-k per column"

        return [
            AugmentationExample(init={"k": 8}, input=data, check=dense_weighted, random=False),
            AugmentationExample(init={"method": "heat", "t": 2.0, "k": 8}, input=data,
                                check=dense_weighted, random=False),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        data = example_graph(generator)
        data.edge_attr = torch.randn(data.edge_index.shape[1], 3, generator=generator)
        return [
            BadInput({"method": "katz"}, None, "method must be one of"),
            BadInput({"alpha": 1.0}, None, "alpha"),
            BadInput({"k": 0}, None, "k must be"),
            BadInput({}, (data,), "cannot be carried"),
        ]
