"""iCT's discretised lognormal over intervals, computed two other ways."""

from __future__ import annotations

import math

import pytest
import torch

from concord_diffusion.ict.karras import karras_sigmas
from concord_diffusion.ict.step_distribution import (
    lognormal_step_probabilities,
    sample_steps,
    uniform_step_probabilities,
)


@pytest.mark.parametrize("n", [11, 161, 1281])
def test_equals_normal_cdf_differences(n):
    """Phi(ln sigma_{i+1}) - Phi(ln sigma_i) with scipy's normal CDF (a second formula: erf
    written as Phi). Catches a density evaluated at sigma_i instead of the interval's mass, an
    interval shifted by one, or P_mean / P_std swapped."""
    from scipy.stats import norm

    s = karras_sigmas(n)
    cdf = norm.cdf((torch.log(s).numpy() - (-1.1)) / 2.0)
    expected = torch.as_tensor(cdf[1:] - cdf[:-1])
    expected = expected / expected.sum()
    torch.testing.assert_close(lognormal_step_probabilities(s), expected, rtol=1e-9, atol=1e-15)


def test_equals_binned_lognormal_samples():
    """Brute force: draw ln sigma ~ N(-1.1, 2^2), keep the draws inside the grid, count per
    interval. Within 4 standard errors of the formula everywhere."""
    s = karras_sigmas(21)
    g = torch.Generator().manual_seed(0)
    draws = torch.exp(-1.1 + 2.0 * torch.randn(400_000, generator=g, dtype=torch.float64))
    inside = draws[(draws >= s[0]) & (draws <= s[-1])]
    counts = torch.bucketize(inside, s[1:-1], right=False).bincount(minlength=20).double()
    freq = counts / counts.sum()
    p = lognormal_step_probabilities(s)
    se = torch.sqrt(p * (1 - p) / counts.sum())
    assert bool(((freq - p).abs() <= 4 * se + 1e-12).all()), (freq - p).abs().max()


def test_mass_concentrates_near_exp_p_mean():
    """The heaviest interval of iCT's default grid holds sigma = exp(P_mean)-ish values, far
    below sigma_max (a uniform or inverted schedule would not)."""
    s = karras_sigmas(1281)
    i = int(lognormal_step_probabilities(s).argmax())
    assert 0.05 < float(s[i]) < 1.0


def test_sampling_frequencies_follow_the_probabilities():
    s = karras_sigmas(11)
    p = lognormal_step_probabilities(s)
    idx = sample_steps(p, 200_000, torch.Generator().manual_seed(1))
    assert idx.dtype == torch.int64 and int(idx.min()) >= 0 and int(idx.max()) <= 9
    freq = idx.bincount(minlength=10).double() / idx.numel()
    assert float((freq - p).abs().max()) < 0.005


def test_uniform():
    s = karras_sigmas(5)
    torch.testing.assert_close(uniform_step_probabilities(s), torch.full((4,), 0.25, dtype=torch.float64))


def test_bad_input():
    s = karras_sigmas(5)
    with pytest.raises(ValueError, match="p_std"):
        lognormal_step_probabilities(s, p_std=0.0)
    with pytest.raises(ValueError, match="ascending"):
        lognormal_step_probabilities(s.flip(0))
    assert math.isclose(float(lognormal_step_probabilities(s).sum()), 1.0, rel_tol=1e-12)
