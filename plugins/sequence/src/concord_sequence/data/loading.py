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
    raise DataNotFoundError(
        f"data set {name!r} not found under data.root={root!r}; looked for "
        + ", ".join(str(p) for p in tried) + " (set data.root, or data.path to a file)"
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
