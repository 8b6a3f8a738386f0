"""Base class of the graph augmentations: one checked entry point for ``Data`` and ``HeteroData``.

A subclass implements :meth:`GraphAugmentation.augment_data` (homogeneous graphs) and, where the
operation has a heterogeneous meaning, :meth:`GraphAugmentation.augment_hetero`. The input is
checked first (features, edge ranges) and is never modified: every subclass builds its output
with PyG's copying operations (``edge_subgraph``, ``subgraph``, ``copy.copy`` + reassignment).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch_geometric.data import Data, HeteroData

from concord.augment.base import Augmentation
from concord.errors import InputError
from concord_graph.graph_input import check_graph

__all__ = ["GraphAugmentation"]


class GraphAugmentation(Augmentation):
    """``aug(data, generator=g)`` -> a new ``Data`` / ``HeteroData``; ``data`` is left untouched."""

    #: Whether the augmentation needs node features ``x`` (feature masking does, edge dropping
    #: does not).
    needs_features: ClassVar[bool] = False

    def apply(self, x: Any, generator: torch.Generator | None) -> Any:
        data = check_graph(x, need_x=self.needs_features)
        if isinstance(data, HeteroData):
            return self.augment_hetero(data, generator)
        return self.augment_data(data, generator)

    def augment_data(self, data: Data, generator: torch.Generator | None) -> Data:
        raise NotImplementedError  # pragma: no cover - every subclass implements it

    def augment_hetero(self, data: HeteroData, generator: torch.Generator | None) -> HeteroData:
        raise InputError(
            f"{type(self).__name__} works on homogeneous graphs only; convert with "
            "data.to_homogeneous(), or build a meta-path graph first (concord_graph.hetero)"
        )
