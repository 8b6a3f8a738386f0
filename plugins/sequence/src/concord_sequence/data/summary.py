"""The dataset summary printed at the start of a run and written to its folder."""

from __future__ import annotations

from typing import Any

import numpy as np

from concord.errors import DataError
from concord_sequence.data.interactions import Interactions

__all__ = ["format_summary", "summarize"]


def summarize(data: Interactions, **extra: Any) -> dict[str, Any]:
    """Users, items, interactions, sparsity and sequence-length quantiles of ``data``.

    ``sparsity = 1 - interactions / (users * items)``. Quantiles use numpy's linear
    interpolation. ``extra`` (filters applied, dropped users, ...) is added as given.
    """
    n = len(data)
    if n == 0:
        raise DataError("cannot summarise an empty interaction log")
    _, lengths = np.unique(data.user, return_counts=True)
    n_users = len(lengths)
    n_items = len(np.unique(data.item))
    q = np.quantile(lengths, [0.0, 0.25, 0.5, 0.75, 0.9, 1.0])
    out: dict[str, Any] = {
        "users": n_users,
        "items": n_items,
        "interactions": int(n),
        "sparsity": float(1.0 - n / (n_users * n_items)),
        "length_mean": float(lengths.mean()),
        "length_min": int(q[0]),
        "length_q25": float(q[1]),
        "length_median": float(q[2]),
        "length_q75": float(q[3]),
        "length_q90": float(q[4]),
        "length_max": int(q[5]),
    }
    out.update(extra)
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """A few human-readable lines."""
    s = summary
    lines = [
        f"dataset {s.get('name', '')} ({s.get('source', '')})".rstrip(),
        f"  users {s['users']:,}  items {s['items']:,}  interactions {s['interactions']:,}  "
        f"sparsity {100 * s['sparsity']:.4f}%",
        f"  sequence length: mean {s['length_mean']:.2f}  min {s['length_min']}  q25 {s['length_q25']:g}  "
        f"median {s['length_median']:g}  q75 {s['length_q75']:g}  q90 {s['length_q90']:g}  max {s['length_max']}",
    ]
    for key in ("filters", "dropped_short_users"):
        if s.get(key):
            lines.append(f"  {key.replace('_', ' ')}: {s[key]}")
    return "\n".join(lines)
