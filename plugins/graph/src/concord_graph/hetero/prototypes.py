r"""k-means clusterings of the fine-grained view: cluster ids for MEOW's negative weights and
prototypes with concentrations for its prototypical loss (PCL, Li et al. 2021,
`Prototypical Contrastive Learning of Unsupervised Representations
<https://arxiv.org/abs/2005.04966>`_, Eq. 12):

.. math::
    \phi_c = \frac{\sum_{z \in c} \lVert z - c \rVert_2}{n_c \log(n_c + \alpha)}, \quad \alpha = 10,

clusters with a single member get the largest :math:`\phi`, values are clipped to their 10th-90th
percentiles and scaled to mean :math:`\tau`. MEOW runs faiss's k-means (20 iterations) every
epoch; :func:`kmeans` here is the same algorithm in torch (Lloyd's iterations from random
points, 20 iterations, an explicit generator), fast enough to run every epoch on CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["Clustering", "cluster_prototypes", "kmeans"]


@dataclass(frozen=True)
class Clustering:
    """One k-means run: ``assignment (N,)``, normalised ``centroids (C, D)``, ``density (C,)``."""

    assignment: Tensor
    centroids: Tensor
    density: Tensor


def kmeans(x: Tensor, k: int, *, iterations: int = 20, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means from ``k`` distinct random points (faiss's initialisation); returns
    ``(assignment (N,), centroids (k, D))``. An emptied cluster keeps its previous centroid."""
    n = x.shape[0]
    if not 1 <= k <= n:
        raise InputError(f"k-means with k = {k} clusters needs k in [1, {n}] (the number of points)")
    x = x.detach().float()
    start = torch.randperm(n, generator=generator, device="cpu")[:k].to(x.device)  # CPU draw, moved
    c = x[start].clone()
    for _ in range(iterations):
        assign = torch.cdist(x, c).argmin(dim=1)
        sums = torch.zeros_like(c).index_add_(0, assign, x)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)
        c = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], c)
    return torch.cdist(x, c).argmin(dim=1), c


def cluster_prototypes(z: Tensor, cluster_counts: list[int], temperature: float, *, seed: int = 0,
                       alpha: float = 10.0) -> list[Clustering]:
    """Cluster ``z`` (detached, ``(N, D)``) once per count in ``cluster_counts``; every count
    must lie in ``[1, N]`` (an error otherwise: k-means cannot make more clusters than points).
    The results live on ``z``'s device; the initial centroids are drawn on the CPU from
    ``seed`` (the same on every device)."""
    n = int(z.shape[0])
    too_many = [int(k) for k in cluster_counts if not 1 <= int(k) <= n]
    if too_many:
        raise InputError(f"cluster counts {too_many} do not lie in [1, {n}]: k-means cannot make more "
                         f"clusters than the {n} nodes it clusters")
    out = []
    for i, k in enumerate(cluster_counts):
        k = int(k)
        assign_t, centers_t = kmeans(z, k, generator=torch.Generator().manual_seed(seed + i))
        x = z.detach().cpu().double().numpy()
        centers = centers_t.cpu().double().numpy()
        assign = assign_t.cpu().numpy()
        dist = np.linalg.norm(x - centers[assign], axis=1)
        counts = np.bincount(assign, minlength=k)
        sums = np.bincount(assign, weights=dist, minlength=k)
        density = np.zeros(k)
        many = counts > 1
        density[many] = sums[many] / (counts[many] * np.log(counts[many] + alpha))
        density[~many] = density[many].max() if many.any() else 1.0
        density = np.clip(density, np.percentile(density, 10), np.percentile(density, 90))
        density = temperature * density / max(density.mean(), 1e-12)
        centroids = torch.nn.functional.normalize(centers_t.float(), dim=1)
        out.append(Clustering(assign_t.to(device=z.device, dtype=torch.long), centroids.to(z.device),
                              torch.as_tensor(density, dtype=torch.float32, device=z.device).clamp_min(1e-6)))
    return out
