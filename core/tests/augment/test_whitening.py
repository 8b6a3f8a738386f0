"""Shuffled group whitening against ZCA computed independently (scipy's matrix square root)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from concord.augment.whitening import ShuffledGroupWhitening


def zca_scipy(x: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc / len(x)
    return xc @ np.real(scipy.linalg.inv(scipy.linalg.sqrtm(cov)))


def _batch(seed, n=40, d=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.randn(d, d, generator=g, dtype=torch.float64)


def test_one_group_is_full_zca_whatever_the_shuffle():
    """ZCA commutes with permutations, so with one group every view equals scipy's ZCA.
    Catches: a missing un-shuffle, PCA (U^T-rotated) or Cholesky whitening instead of ZCA,
    the covariance divided by N - 1, no centring."""
    x = _batch(0)
    out = ShuffledGroupWhitening(num_groups=1, n_views=3, eps=0.0)(x, generator=torch.Generator().manual_seed(1))
    expected = zca_scipy(x.numpy())
    for v in range(3):
        np.testing.assert_allclose(out[:, v].numpy(), expected, atol=1e-9)


@pytest.mark.parametrize("groups", [2, 3, 6])
def test_each_shuffled_group_is_whitened_by_its_own_zca(groups):
    x = _batch(groups)
    sgw = ShuffledGroupWhitening(num_groups=groups, n_views=2, eps=0.0)
    out = sgw(x, generator=torch.Generator().manual_seed(2))
    perms = sgw.permutations(6, 2, torch.Generator().manual_seed(2))
    assert not torch.equal(perms[0], perms[1])
    size = 6 // groups
    for v, perm in enumerate(perms):
        for g in range(groups):
            dims = perm[g * size:(g + 1) * size].numpy()
            np.testing.assert_allclose(out[:, v][:, dims].numpy(), zca_scipy(x.numpy()[:, dims]), atol=1e-9)


def test_views_of_a_three_d_input_are_whitened_separately():
    x = torch.stack([_batch(7), _batch(8)], dim=1)
    out = ShuffledGroupWhitening(num_groups=1, eps=0.0)(x)
    for v in range(2):
        np.testing.assert_allclose(out[:, v].numpy(), zca_scipy(x[:, v].numpy()), atol=1e-9)


def test_gradient_treats_the_whitening_matrix_as_a_constant_unless_asked():
    x = _batch(3).requires_grad_(True)
    w = torch.randn(40, 2, 6, dtype=torch.float64)
    const = ShuffledGroupWhitening(num_groups=2, n_views=2)
    (const(x, generator=torch.Generator().manual_seed(4)) * w).sum().backward()
    g_const = x.grad.clone()
    x.grad = None
    full = ShuffledGroupWhitening(num_groups=2, n_views=2, whitening_gradient=True)
    (full(x, generator=torch.Generator().manual_seed(4)) * w).sum().backward()
    assert not torch.allclose(g_const, x.grad)
    # constant W: the gradient is the centred (w @ W^T) of each group -- the mean of the
    # gradient over the batch is 0 in every dimension
    torch.testing.assert_close(g_const.mean(dim=0), torch.zeros(6, dtype=torch.float64))
