"""k-means clustering quality of embeddings: NMI and ARI (as HeCo / MEOW report them)."""

from __future__ import annotations

import numpy as np
import torch

from concord.errors import InputError
from concord_graph.evaluate.splits import as_numpy

__all__ = ["kmeans_scores"]


def kmeans_scores(embeddings: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, *,
                  runs: int = 10, seed: int = 0) -> tuple[float, float]:
    """Mean NMI and ARI over ``runs`` scikit-learn ``KMeans`` fits with as many clusters as
    classes (HeCo and MEOW average 10 runs)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    from threadpoolctl import threadpool_limits

    if runs < 1:
        raise InputError(f"runs must be >= 1, got {runs}")
    x = as_numpy(embeddings).astype(np.float64)
    y = as_numpy(labels).astype(np.int64)
    k = len(np.unique(y))
    nmi, ari = [], []
    for r in range(runs):
        with threadpool_limits(limits=torch.get_num_threads()):
            pred = KMeans(n_clusters=k, n_init=1, random_state=seed + r).fit_predict(x)
        nmi.append(normalized_mutual_info_score(y, pred, average_method="arithmetic"))
        ari.append(adjusted_rand_score(y, pred))
    return float(np.mean(nmi)), float(np.mean(ari))
