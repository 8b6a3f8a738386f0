"""PNG of embeddings in 2-D (t-SNE or PCA), coloured by class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from concord.errors import InputError
from concord_graph.evaluate.splits import as_numpy

__all__ = ["plot_embeddings"]


def plot_embeddings(embeddings: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, out: str | Path, *,
                    method: str = "tsne", title: str = "", max_points: int = 3000, seed: int = 0) -> Path:
    """Project to 2-D with scikit-learn's ``TSNE`` (at most ``max_points`` random nodes, PCA
    initialisation) or ``PCA`` and write a scatter coloured by ``labels``."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    from concord.run.plots import scatter_2d

    x = as_numpy(embeddings).astype(np.float32)
    y = as_numpy(labels)
    if x.shape[0] > max_points:
        keep = np.random.default_rng(seed).choice(x.shape[0], max_points, replace=False)
        x, y = x[keep], y[keep]
    if method == "tsne":
        pts = TSNE(n_components=2, init="pca", random_state=seed, perplexity=min(30.0, (x.shape[0] - 1) / 3)).fit_transform(x)
    elif method == "pca":
        pts = PCA(n_components=2, random_state=seed).fit_transform(x)
    else:
        raise InputError(f"method must be 'tsne' or 'pca', got {method!r}")
    scatter_2d(pts, y, out, title=title or f"embeddings ({method.upper()})")
    return Path(out)
