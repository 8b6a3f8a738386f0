"""Feature masking on graphs: whole dimensions (GRACE) or single entries (MEOW)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor
from torch_geometric.data import Data, HeteroData

from concord.augment.base import random_uniform
from concord.augment.feature_mask import FeatureMask
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_choice, check_probability
from concord_graph.augment.examples import example_graph, example_hetero, same_nodes
from concord_graph.augment.graph_augmentation import GraphAugmentation

__all__ = ["MaskFeatures"]


class MaskFeatures(GraphAugmentation):
    r"""Zero node features at random.

    ``mode="dimension"`` zeroes a random subset of feature dimensions for every node at once
    (Zhu et al. 2020, `GRACE <https://arxiv.org/abs/2006.04131>`_, Sec. 3.2.1:
    :math:`\tilde{X} = [x_1 \circ m; \ldots; x_N \circ m]`, :math:`m_j \sim
    \mathrm{Bernoulli}(1 - p)`; the core's :class:`~concord.augment.FeatureMask` does the draw).
    ``mode="entry"`` zeroes each entry independently, the feature masking of MEOW (Yu & Li 2023,
    `arXiv:2212.13847 <https://arxiv.org/abs/2212.13847>`_, Sec. 4.2).

    Args:
        p: masking probability in [0, 1) (default: ``0.2``).
        mode: ``"dimension"`` or ``"entry"`` (default: ``"dimension"``).
        node_types: for ``HeteroData``, the node types to mask (default: ``None``, every node
            type with features).

    Shapes:
        x: ``(N, F)``, returned with the same shape; edges untouched.
    """

    registry_name = "graph.mask_features"
    needs_features = True

    def __init__(
        self, *, p: float = 0.2, mode: Literal["dimension", "entry"] = "dimension",
        node_types: Sequence[str] | None = None,
    ) -> None:
        self.p = check_probability("p", p)
        self.mode = check_choice("mode", mode, ("dimension", "entry"))
        self.node_types = None if node_types is None else list(node_types)

    def mask(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        if self.mode == "dimension":
            return FeatureMask(p=self.p)(x, generator=generator)
        keep = random_uniform(tuple(x.shape), generator, x.device) >= self.p
        return x * keep.to(x.dtype)

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        out = copy.copy(data)
        out.x = self.mask(data.x, generator)
        return out

    def augment_hetero(self, data: HeteroData, generator: torch.Generator | None) -> HeteroData:
        types = [t for t in data.node_types if "x" in data[t]] if self.node_types is None else self.node_types
        for t in types:
            if t not in data.node_types or "x" not in data[t]:
                raise InputError(f"node type {t!r} has no features to mask; typed nodes: "
                                 f"{[n for n in data.node_types if 'x' in data[n]]}")
        out = copy.copy(data)
        for t in types:
            out[t].x = self.mask(data[t].x, generator)
        return out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        data = example_graph(generator)

        def whole_columns(a: Data, b: Data) -> None:
            same_nodes(a, b)
            assert torch.equal(a.edge_index, b.edge_index)
            kept = (b.x == a.x).all(dim=0)
            zeroed = (b.x == 0).all(dim=0)
            assert bool((kept | zeroed).all()), "each feature column is kept or zeroed whole"

        def entries(a: Data, b: Data) -> None:
            assert bool(((b.x == a.x) | (b.x == 0)).all()), "entries are kept or zeroed"
            assert not bool(((b.x == a.x).all(dim=0) | (b.x == 0).all(dim=0)).all())

        def only_papers(a: HeteroData, b: HeteroData) -> None:
            assert torch.equal(a["author"].x, b["author"].x), "unlisted node types untouched"
            assert not torch.equal(a["paper"].x, b["paper"].x)

        return [
            AugmentationExample(init={"p": 0.5}, input=data, check=whole_columns),
            AugmentationExample(init={"p": 0.5, "mode": "entry"}, input=data, check=entries),
            AugmentationExample(init={"p": 0.5, "node_types": ["paper"]},
                                input=example_hetero(generator), check=only_papers),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        data = example_graph(generator)
        no_x = Data(edge_index=data.edge_index, num_nodes=data.num_nodes)
        return [
            BadInput({"p": 1.0}, None, r"\[0, 1\)"),
            BadInput({"p": 0.1, "mode": "rows"}, None, "mode must be one of"),
            BadInput({"p": 0.1}, (no_x,), "no node features `x`", why="graph without x"),
            BadInput({"p": 0.1, "node_types": ["venue"]}, (example_hetero(generator),), "no features to mask"),
        ]
