"""The Karras grid against diffusers' CMStochasticIterativeScheduler (peer) and its end points."""

from __future__ import annotations

import pytest
import torch

from concord_diffusion.ict.karras import karras_sigmas


@pytest.mark.parametrize("n", [2, 11, 21, 1281])
def test_grid_equals_diffusers_scheduler_reversed(n):
    """Catches a wrong ramp ((i-1)/(N-1) vs i/N), a wrong exponent, or a descending grid."""
    from diffusers import CMStochasticIterativeScheduler

    peer = CMStochasticIterativeScheduler(num_train_timesteps=n, sigma_min=0.002, sigma_max=80.0, rho=7.0)
    expected = torch.as_tensor(peer.sigmas, dtype=torch.float64).flip(0)
    torch.testing.assert_close(karras_sigmas(n), expected, rtol=1e-12, atol=0)


def test_grid_by_hand_three_levels():
    """N = 3, rho = 1: equal spacing (the formula written out)."""
    torch.testing.assert_close(
        karras_sigmas(3, sigma_min=1.0, sigma_max=3.0, rho=1.0), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    )
    lo, hi = 0.002 ** (1 / 7), 80 ** (1 / 7)
    mid = ((lo + hi) / 2) ** 7
    assert abs(float(karras_sigmas(3)[1]) - mid) < 1e-12


def test_end_points_are_exact():
    s = karras_sigmas(1281)
    assert float(s[0]) == 0.002 and float(s[-1]) == 80.0
    assert bool((s[1:] > s[:-1]).all())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=1), "integer >= 2"),
        (dict(n=10, sigma_min=80.0, sigma_max=80.0), "sigma_min must be < sigma_max"),
        (dict(n=10, sigma_min=100.0), "sigma_min must be < sigma_max"),
        (dict(n=10, sigma_min=0.0), "sigma_min must be > 0"),
        (dict(n=10, rho=0.0), "rho must be > 0"),
    ],
)
def test_bad_grid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        karras_sigmas(**kwargs)
