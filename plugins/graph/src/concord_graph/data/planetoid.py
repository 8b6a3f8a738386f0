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


#: Where PyG's ``Planetoid`` downloads the raw files from (the Planetoid authors' repository).
PLANETOID_SOURCE = "https://github.com/kimiyoung/planetoid/tree/master/data"


def planetoid_raw_dir(root: str | Path, name: str) -> Path:
    """``root/<Name>/raw`` or ``root/planetoid/<Name>/raw``, whichever holds the eight
    ``ind.<name>.*`` files; an error saying which files are expected where, and how to get them,
    otherwise."""
    root = Path(root)
    tried = [root / name / "raw", root / "planetoid" / name / "raw"]
    for folder in tried:
        if all((folder / f"ind.{name.lower()}.{part}").is_file() for part in _RAW):
            return folder
    raise DataNotFoundError(
        f"no Planetoid raw files for {name!r}: expected ind.{name.lower()}.{{x,tx,allx,y,ty,ally,graph,"
        f"test.index}} in {' or '.join(str(t) for t in tried)}. Get them from {PLANETOID_SOURCE} "
        f"(the files ind.{name.lower()}.*) into {tried[0]}, or set data.download=true to let PyG's "
        "Planetoid download them there (needs the network; set data.root or $CONCORD_DATA to "
        "choose the folder)"
    )


def _download(root: Path, name: str) -> Path:
    """PyG's own download of the raw files into ``root/<Name>/raw`` (``Planetoid`` fetches them
    from :data:`PLANETOID_SOURCE` and processes them there)."""
    from torch_geometric.datasets import Planetoid

    from concord.run import say

    say(f"downloading {name} with PyG's Planetoid into {root / name / 'raw'} (data.download=true)")
    try:
        Planetoid(str(root), name)
    except Exception as exc:  # no network, a proxy, a read-only folder: the user's environment
        raise DataNotFoundError(
            f"data.download=true: PyG's Planetoid could not download {name!r} into {root / name / 'raw'} "
            f"({type(exc).__name__}: {exc}); get the files ind.{name.lower()}.* from {PLANETOID_SOURCE} "
            "by hand"
        ) from None
    return planetoid_raw_dir(root, name)


def load_planetoid(root: str | Path, name: str, *, normalize_features: bool = True, download: bool = False) -> Data:
    """The Planetoid graph ``name`` with its public split masks (140 / 500 / 1000 on Cora).

    The raw files are copied into a temporary folder before PyG's ``Planetoid`` reads them, since
    it writes ``processed/`` next to them and the data folder may be read-only. Features are
    row-normalised (``NormalizeFeatures``) as GRACE, GCA and POT do, unless
    ``normalize_features=False``. With ``download=True`` missing raw files are first fetched
    by PyG's ``Planetoid`` into ``root/<Name>/raw``; by default nothing is downloaded.
    """
    from torch_geometric.datasets import Planetoid
    from torch_geometric.transforms import NormalizeFeatures

    if name not in PLANETOID_NAMES:
        raise DataError(f"unknown Planetoid graph {name!r}; names: {list(PLANETOID_NAMES)}")
    try:
        raw = planetoid_raw_dir(root, name)
    except DataNotFoundError:
        if not download:
            raise
        raw = _download(Path(root), name)
    with tempfile.TemporaryDirectory(prefix="concord-planetoid-") as tmp:
        shutil.copytree(raw, Path(tmp) / name / "raw")
        dataset = Planetoid(tmp, name, transform=NormalizeFeatures() if normalize_features else None)
        data = dataset[0]
    return data
