"""From ``data.root`` + ``data.name`` to a split ready to train on, with its summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from concord.errors import DataError, DataNotFoundError
from concord_sequence.data.kcore import kcore_filter
from concord_sequence.data.readers import read_atomic_inter, read_user_lines
from concord_sequence.data.reindex import reindex
from concord_sequence.data.split import LeaveOneOut, leave_one_out
from concord_sequence.data.summary import summarize

__all__ = ["Loaded", "load_dataset", "resolve_path"]

#: Data sets with a fixed place under ``data.root``.
KNOWN = {"beauty": "seqrec/beauty.txt"}

#: What each known data set is and where a user obtains it (shown when it is missing).
SOURCES = {
    "beauty": (
        "beauty.txt is Amazon Beauty 5-core in the S3Rec / CL4SRec / DuoRec / MCLRec preprocessing, one "
        "line per user (`user_id item_id item_id ...`, items in time order, ids from 1; 22,363 users); "
        "it is dataset/Amazon_Beauty/Amazon_Beauty.txt of https://github.com/QinHsiu/MCLRec "
        "(also data/Beauty.txt of https://github.com/RUCAIBox/CIKM2020-S3Rec)"
    ),
    "ml-100k": (
        "ml-100k.inter is MovieLens-100K as a RecBole atomic file (tab-separated, typed header "
        "`user_id:token item_id:token rating:float timestamp:float`); RecBole ships it in its wheel "
        "(recbole/dataset_example/ml-100k/, `pip download --no-deps recbole==1.2.1`) and publishes "
        "the other atomic data sets at https://github.com/RUCAIBox/RecSysDatasets"
    ),
}


def resolve_path(root: str, name: str, path: str | None = None) -> Path:
    """``path`` if given; else ``<root>/seqrec/beauty.txt`` for ``beauty``; else the first of
    ``<root>/seqrec/<name>.txt``, ``<root>/<name>/<name>.inter``, ``<root>/<name>.inter``,
    ``<root>/<name>.txt`` that exists."""
    if path:
        return Path(path)
    base = Path(root)
    tried = [base / KNOWN[name]] if name in KNOWN else [
        base / "seqrec" / f"{name}.txt", base / name / f"{name}.inter", base / f"{name}.inter",
        base / f"{name}.txt",
    ]
    for p in tried:
        if p.is_file():
            return p
    how = SOURCES.get(name, "a RecBole atomic .inter file, or one line per user (`user item item ...`)")
    raise DataNotFoundError(
        f"data set {name!r} not found under data.root={root!r}: expected "
        + " or ".join(str(p) for p in tried) + f". {how}. Put it there, or set data.root (default: "
        "$CONCORD_DATA, else data/ under the working directory) or data.path to the file"
    )


@dataclass
class Loaded:
    split: LeaveOneOut
    summary: dict[str, Any]


def load_dataset(*, root: str, name: str, path: str | None = None, max_len: int = 50,
                 min_user_inter: int = 0, min_item_inter: int = 0, short_users: str = "error") -> Loaded:
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise DataError(f"data.max_len must be an integer >= 1, got {max_len!r}")
    file = resolve_path(root, name, path)
    raw = read_atomic_inter(file) if file.suffix == ".inter" else read_user_lines(file)
    filtered = kcore_filter(raw, min_user=min_user_inter, min_item=min_item_inter)
    indexed = reindex(filtered)
    split = leave_one_out(indexed.data, max_len=max_len, short_users=short_users)  # type: ignore[arg-type]
    kept = indexed.data
    if split.dropped_users:
        # the summary describes the data trained and evaluated on
        import numpy as np

        _, counts = np.unique(kept.user, return_counts=True)
        keep = np.repeat(counts >= 3, counts)
        from concord_sequence.data.interactions import Interactions

        kept = Interactions(user=kept.user[keep], item=kept.item[keep], source=kept.source)
    filters = []
    if min_user_inter > 1 or min_item_inter > 1:
        filters.append(f"k-core: users >= {min_user_inter}, items >= {min_item_inter} interactions "
                       f"({len(raw) - len(filtered)} of {len(raw)} interactions removed)")
    summary = summarize(
        kept, name=name, source=str(file), filters="; ".join(filters),
        dropped_short_users=split.dropped_users, train_samples=len(split.train_user),
        max_len=max_len,
    )
    return Loaded(split=split, summary=summary)
