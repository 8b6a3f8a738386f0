"""Readers for the two formats sequential-recommendation data comes in.

* The one-line-per-user format of S3Rec / CL4SRec / DuoRec / MCLRec preprocessing
  (``user item item ...``, items in time order, integer ids), e.g. ``beauty.txt``.
* RecBole atomic files (``.inter``): a tab-separated table whose header types each column
  (``user_id:token  item_id:token  rating:float  timestamp:float``). Rows are sorted by
  timestamp within each user when a ``timestamp`` column is present (stable, so equal
  timestamps keep file order), else kept in file order.

Every malformed input raises a :class:`ValueError` that names the file, the line and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from concord.errors import DataError, DataNotFoundError
from concord_sequence.data.interactions import Interactions

__all__ = ["read_atomic_inter", "read_user_lines"]


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise DataNotFoundError(f"data file {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"data file {str(path)!r} is empty: it holds no interactions")


def read_user_lines(path: str | Path) -> Interactions:
    """Read ``user item item ...`` lines (whitespace-separated integers, items in time order).

    Blank lines are skipped. A user listed on two lines is an error (the format has one line
    per user). Ids must be non-negative integers.
    """
    path = Path(path)
    _check_file(path)
    users: list[int] = []
    lengths: list[int] = []
    chunks: list[np.ndarray] = []
    seen: set[int] = set()
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                ids = [int(f) for f in fields]
            except ValueError:
                bad = next(f for f in fields if not f.lstrip("-").isdigit())
                raise DataError(
                    f"{path}:{lineno}: {bad!r} is not an integer id; the one-line-per-user format "
                    "is 'user item item ...' with integer ids (use a RecBole .inter file for "
                    "string tokens)"
                ) from None
            if min(ids) < 0:
                raise DataError(f"{path}:{lineno}: ids must be non-negative, got {min(ids)}")
            if len(ids) < 2:
                raise DataError(f"{path}:{lineno}: user {ids[0]} has no items")
            if ids[0] in seen:
                raise DataError(f"{path}:{lineno}: user {ids[0]} appears on two lines")
            seen.add(ids[0])
            users.append(ids[0])
            lengths.append(len(ids) - 1)
            chunks.append(np.asarray(ids[1:], dtype=np.int64))
    if not chunks:
        raise DataError(f"data file {str(path)!r} holds only blank lines: no interactions")
    user = np.repeat(np.asarray(users, dtype=np.int64), lengths)
    return Interactions(user=user, item=np.concatenate(chunks), source=str(path))


def read_atomic_inter(path: str | Path, *, user_field: str = "user_id", item_field: str = "item_id",
                      time_field: str = "timestamp") -> Interactions:
    """Read a RecBole atomic ``.inter`` file (header ``name:type`` per column, tab-separated).

    Ids are kept as strings (RecBole ``token`` semantics) and re-indexed later. Users are
    grouped in order of first appearance; within a user, rows are sorted by ``time_field``
    when the file has it.
    """
    import pandas as pd

    path = Path(path)
    _check_file(path)
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    names = {}
    for col in header:
        name, sep, ftype = col.partition(":")
        if not sep:
            raise DataError(
                f"{path}:1: header column {col!r} has no type; a RecBole atomic file's header "
                "reads 'user_id:token<TAB>item_id:token<TAB>timestamp:float'"
            )
        names[name] = ftype
    for needed in (user_field, item_field):
        if needed not in names:
            raise DataError(f"{path}: no {needed!r} column in the header (columns: {', '.join(names)})")
    usecols = [c for c in header if c.split(":")[0] in (user_field, item_field, time_field)]
    frame = pd.read_csv(path, sep="\t", usecols=usecols, dtype=str, keep_default_na=False)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    if frame.empty:
        raise DataError(f"data file {str(path)!r} has a header but no interactions")
    for col in (user_field, item_field):
        empty = frame[col].str.strip() == ""
        if bool(empty.any()):
            raise DataError(f"{path}:{int(np.flatnonzero(empty)[0]) + 2}: empty {col}")
    order_cols = []
    if time_field in frame.columns:
        times = pd.to_numeric(frame[time_field], errors="coerce")
        if bool(times.isna().any()):
            line = int(np.flatnonzero(times.isna().to_numpy())[0]) + 2
            raise DataError(f"{path}:{line}: {time_field} {frame[time_field].iloc[line - 2]!r} is not a number")
        frame["_time"] = times.to_numpy()
        order_cols.append("_time")
    frame["_user_rank"] = pd.factorize(frame[user_field])[0]
    frame["_row"] = np.arange(len(frame))
    frame = frame.sort_values(["_user_rank", *order_cols, "_row"], kind="stable")
    return Interactions(
        user=frame[user_field].to_numpy(dtype=object),
        item=frame[item_field].to_numpy(dtype=object),
        source=str(path),
    )
