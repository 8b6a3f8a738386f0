"""Fréchet distance between Gaussians fitted to two sets of features (FID without Inception)."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["feature_statistics", "frechet_distance", "frechet_distance_of_features"]


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` (divided by ``N - 1``, as pytorch-fid's
    ``np.cov``) of ``(N, D)`` features, in float64."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise InputError(f"features must be (N, D) with N >= 2, got shape {tuple(features.shape)}")
    f = features.detach().to(torch.float64)
    if not bool(torch.isfinite(f).all()):
        raise InputError("features contain NaN or infinity")
    mu = f.mean(dim=0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _psd_sqrt(a: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh((a + a.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    r"""The Fréchet (2-Wasserstein) distance between :math:`\mathcal N(\mu_1, \Sigma_1)` and
    :math:`\mathcal N(\mu_2, \Sigma_2)` (Dowson & Landau 1982; the FID of Heusel et al. 2017,
    `GANs Trained by a Two Time-Scale Update Rule <https://arxiv.org/abs/1706.08500>`_, Eq. 6):

    .. math::
        d^2 = \lVert \mu_1 - \mu_2 \rVert_2^2
            + \operatorname{tr}\bigl(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2}\bigr)

    :math:`\operatorname{tr}(\Sigma_1 \Sigma_2)^{1/2}` is computed as
    :math:`\sum_j \sqrt{\lambda_j}` over the eigenvalues of the symmetric
    :math:`\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}` (same spectrum as :math:`\Sigma_1\Sigma_2`), in
    float64 -- no complex ``sqrtm`` and no ``eps`` added to the diagonal.

    Shapes:
        mu: ``(D,)``; sigma: ``(D, D)`` symmetric positive semi-definite. Returns a float.
    """
    mu1, mu2 = mu1.to(torch.float64), mu2.to(torch.float64)
    s1, s2 = sigma1.to(torch.float64), sigma2.to(torch.float64)
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise InputError(f"statistics of different dimension: {tuple(mu1.shape)}, {tuple(s1.shape)}, "
                         f"{tuple(mu2.shape)}, {tuple(s2.shape)}")
    root = _psd_sqrt(s1)
    middle = root @ s2 @ root
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    value = (mu1 - mu2).pow(2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * trace_sqrt
    return float(value.clamp_min(0))


def frechet_distance_of_features(a: Tensor, b: Tensor) -> float:
    """:func:`frechet_distance` of Gaussians fitted to ``(N, D)`` and ``(M, D)`` features."""
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))
