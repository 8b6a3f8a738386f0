"""One entry point for the graphs a run names by ``data.root`` + ``data.name``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch_geometric.data import Data, HeteroData

from concord.errors import DataError, DataNotFoundError
from concord_graph.data.heco import heco_folder, load_heco
from concord_graph.data.planetoid import PLANETOID_NAMES, load_planetoid
from concord_graph.data.synthetic import sbm_graph

__all__ = ["GENERATED", "load_graph"]

#: Graphs that need no files: PyG's bundled Zachary karate club and the generated SBM.
GENERATED: tuple[str, ...] = ("KarateClub", "sbm")


def load_graph(root: str | Path, name: str, *, generated: dict[str, Any] | None = None, seed: int = 0,
               normalize_features: bool = True, download: bool = False) -> Data | HeteroData:
    """Load ``name``: a Planetoid graph (``Cora``, ``CiteSeer``, ``PubMed``; from
    ``root/<Name>/raw`` or ``root/planetoid/<Name>/raw``; ``download=True`` lets PyG fetch
    missing files), a HeCo-format folder (``root/<name>`` or ``root/hetero/<name>``, e.g.
    ``acm``), ``KarateClub`` (shipped with PyG) or ``sbm``
    (:func:`~concord_graph.data.synthetic.sbm_graph` with the options in ``generated``, seeded
    by ``seed``). Nothing is downloaded unless ``download=True``."""
    if name in PLANETOID_NAMES:
        return load_planetoid(root, name, normalize_features=normalize_features, download=download)
    if download:
        raise DataError(f"data.download=true works for the Planetoid graphs {list(PLANETOID_NAMES)} only, "
                        f"not {name!r}")
    if name == "KarateClub":
        from torch_geometric.datasets import KarateClub

        return KarateClub()[0]
    if name == "sbm":
        g = torch.Generator().manual_seed(seed)
        return sbm_graph(generator=g, **(generated or {}))
    try:
        folder = heco_folder(root, name)
    except FileNotFoundError as exc:
        raise DataNotFoundError(
            f"unknown graph {name!r} under {root}: not a Planetoid name {list(PLANETOID_NAMES)}, "
            f"not one of {list(GENERATED)}, and {exc}"
        ) from None
    return load_heco(folder)
