"""Improved precision and recall of generative models (Kynkäänniemi et al. 2019)."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["knn_radii", "precision_recall", "within_manifold"]


def knn_radii(features: Tensor, k: int = 3, *, block: int = 2048) -> Tensor:
    """Distance of each row to its ``k``-th nearest *other* row (itself excluded by index, so
    duplicates count as neighbours at distance 0). ``(N, D)`` -> ``(N,)`` float64."""
    n = features.shape[0]
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InputError(f"k must be an integer >= 1, got {k!r}")
    if n <= k:
        raise InputError(f"the k-NN radius needs more than k={k} points, got {n}")
    f = features.to(torch.float64)
    out = torch.empty(n, dtype=torch.float64)
    for i0 in range(0, n, block):
        d = torch.cdist(f[i0 : i0 + block], f)
        rows = torch.arange(d.shape[0])
        d[rows, rows + i0] = float("inf")
        out[i0 : i0 + block] = d.kthvalue(k, dim=1).values
    return out


def within_manifold(points: Tensor, reference: Tensor, radii: Tensor, *, block: int = 2048) -> Tensor:
    """For each of ``points``, whether it lies in some ball ``||p - r|| <= radius(r)`` around a
    row ``r`` of ``reference``: a ``(N,)`` bool tensor."""
    p, ref = points.to(torch.float64), reference.to(torch.float64)
    inside = torch.empty(p.shape[0], dtype=torch.bool)
    for i0 in range(0, p.shape[0], block):
        d = torch.cdist(p[i0 : i0 + block], ref)
        inside[i0 : i0 + block] = (d <= radii[None, :]).any(dim=1)
    return inside


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    r"""Precision and recall of Kynkäänniemi et al. 2019 (`Improved Precision and Recall Metric for
    Assessing Generative Models <https://arxiv.org/abs/1904.06991>`_, Eq. 1-3):

    .. math::
        f(\phi, \Phi) = \mathbb 1\bigl[\exists \phi' \in \Phi:\ \lVert \phi - \phi' \rVert_2
            \le \lVert \phi' - \operatorname{NN}_k(\phi') \rVert_2\bigr],\qquad
        \text{precision} = \tfrac{1}{|\Phi_g|} \sum_{\phi_g} f(\phi_g, \Phi_r),\quad
        \text{recall} = \tfrac{1}{|\Phi_r|} \sum_{\phi_r} f(\phi_r, \Phi_g)

    with :math:`\operatorname{NN}_k(\phi')` the :math:`k`-th nearest neighbour of :math:`\phi'`
    in its own set (:math:`k = 3` in the paper).

    Shapes:
        real: ``(N, D)``; fake: ``(M, D)``. Returns ``(precision, recall)``.
    """
    for name, x in (("real", real), ("fake", fake)):
        if x.dim() != 2:
            raise InputError(f"{name} features must be (N, D), got shape {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise InputError(f"{name} features contain NaN or infinity")
    if real.shape[1] != fake.shape[1]:
        raise InputError(f"feature dimensions differ: real {real.shape[1]}, fake {fake.shape[1]}")
    precision = within_manifold(fake, real, knn_radii(real, k)).double().mean()
    recall = within_manifold(real, fake, knn_radii(fake, k)).double().mean()
    return float(precision), float(recall)
