"""PNG plots every run writes: metric curves and 2-D embedding scatters (matplotlib, Agg)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_curves", "plot_series", "scatter_2d"]


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'concord-core[run]'") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def plot_curves(rows: Sequence[dict[str, Any]], keys: Sequence[str], out: str | Path, *, x: str = "epoch") -> None:
    """One panel per metric in ``keys``, against ``x`` (rows missing either are skipped)."""
    plt = _pyplot()
    keys = [k for k in keys if any(_number(r.get(k)) is not None for r in rows)] or list(keys)[:1]
    n = max(1, len(keys))
    cols = min(n, 3)
    nrows = math.ceil(n / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.2 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        pts = [
            (_number(r.get(x)), _number(r.get(key)))
            for r in rows
        ]
        pts = [(a, b) for a, b in pts if a is not None and b is not None]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, marker="." if len(pts) < 60 else None, linewidth=1.2)
        ax.set_title(key)
        ax.set_xlabel(x)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def scatter_2d(points: Any, labels: Any, out: str | Path, *, title: str = "") -> None:
    """A scatter of ``points`` (``(N, 2)`` array-like) coloured by integer ``labels``."""
    import numpy as np

    plt = _pyplot()
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {pts.shape}")
    lab = np.asarray(labels) if labels is not None else np.zeros(len(pts), dtype=int)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    classes = np.unique(lab)
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for i, c in enumerate(classes):
        sel = lab == c
        ax.scatter(pts[sel, 0], pts[sel, 1], s=6, alpha=0.7, color=cmap(i % cmap.N), label=str(c))
    if len(classes) <= 20:
        ax.legend(markerscale=2, fontsize=7, loc="best", frameon=False)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_series(
    series: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float] | None]],
    out: str | Path,
    *,
    xlabel: str,
    ylabel: str,
    title: str = "",
    log_x: bool = False,
) -> None:
    """Lines ``name -> (xs, ys, errors)`` on one panel, ``errors`` (or ``None``) as error bars."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, (xs, ys, err) in series.items():
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, linewidth=1.4, label=name)
    if log_x:
        ax.set_xscale("log")
        xs_all = sorted({x for xs, _, _ in series.values() for x in xs})
        ax.set_xticks(xs_all, [f"{x:g}" for x in xs_all])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
