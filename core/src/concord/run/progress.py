"""Progress bars for long loops (tqdm), shown on a terminal and hidden in logs by default.

Set ``CONCORD_PROGRESS=1`` to force bars (e.g. under ``nohup``), ``CONCORD_PROGRESS=0`` to hide.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

__all__ = ["progress"]

T = TypeVar("T")


def progress(
    iterable: Iterable[T],
    *,
    desc: str = "",
    total: int | None = None,
    disable: bool | None = None,
    **kwargs: Any,
) -> Iterable[T]:
    """``tqdm(iterable)`` with concord's defaults; ``iterable`` itself when tqdm is not installed.

    ``disable=True`` hides the bar (e.g. on every rank but 0); ``None`` follows
    ``CONCORD_PROGRESS`` and otherwise shows the bar only on a terminal. The bar is returned
    itself, so a loop can show its current values: ``bar.set_postfix(loss=...)`` (guard with
    ``hasattr(bar, "set_postfix")`` where tqdm may be missing).
    """
    if disable is None:
        flag = os.environ.get("CONCORD_PROGRESS")
        disable = None if flag is None else flag.strip() in ("0", "false", "no")
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        return iterable
    return tqdm(iterable, desc=desc, total=total, disable=disable, dynamic_ncols=True, **kwargs)
