"""Planetoid citation graphs read offline from their raw files."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from torch_geometric.data import Data

from concord.errors import DataError, DataNotFoundError

__all__ = ["PLANETOID_NAMES", "load_planetoid", "planetoid_raw_dir"]

PLANETOID_NAMES: tuple[str, ...] = ("Cora", "CiteSeer", "PubMed")
_RAW = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")


def planetoid_raw_dir(root: str | Path, name: str) -> Path:
    """``root/<Name>/raw`` or ``root/planetoid/<Name>/raw``, whichever holds the eight
    ``ind.<name>.*`` files; a clear error listing both places otherwise."""
    root = Path(root)
    tried = [root / name / "raw", root / "planetoid" / name / "raw"]
    for folder in tried:
        if all((folder / f"ind.{name.lower()}.{part}").is_file() for part in _RAW):
            return folder
    raise DataNotFoundError(
        f"no Planetoid raw files for {name!r}: looked for ind.{name.lower()}.{{x,tx,allx,y,ty,ally,graph,"
        f"test.index}} in {', '.join(str(t) for t in tried)}. Nothing is downloaded; point "
        "data.root at a folder that holds them"
    )


def load_planetoid(root: str | Path, name: str, *, normalize_features: bool = True) -> Data:
    """The Planetoid graph ``name`` with its public split masks (140 / 500 / 1000 on Cora).

    The raw files are copied into a temporary folder before PyG's ``Planetoid`` reads them, since
    it writes ``processed/`` next to them and the data folder may be read-only. Features are
    row-normalised (``NormalizeFeatures``) as GRACE, GCA and POT do, unless
    ``normalize_features=False``.
    """
    from torch_geometric.datasets import Planetoid
    from torch_geometric.transforms import NormalizeFeatures

    if name not in PLANETOID_NAMES:
        raise DataError(f"unknown Planetoid graph {name!r}; names: {list(PLANETOID_NAMES)}")
    raw = planetoid_raw_dir(root, name)
    with tempfile.TemporaryDirectory(prefix="concord-planetoid-") as tmp:
        shutil.copytree(raw, Path(tmp) / name / "raw")
        dataset = Planetoid(tmp, name, transform=NormalizeFeatures() if normalize_features else None)
        data = dataset[0]
    return data
