"""Statistical checks of the feature-space augmentations, each with a bound a wrong
implementation fails.

Every rate is estimated from n = 100,000 independent Bernoulli draws. For a correct
implementation the estimate has standard deviation sqrt(p (1 - p) / n) (1.45e-3 at p = 0.3), and
the tests allow 5 of those (a correct implementation fails with probability < 1e-6 for a random
seed; the seeds are fixed, so the tests are deterministic). A wrong implementation is off by far
more: ``p`` used as the keep probability gives 0.7 instead of 0.3 (276 standard deviations), a
mask per element instead of per dimension gives rows that disagree.
"""

from __future__ import annotations

import math

import pytest
import torch

from concord.augment import FeatureDropout, FeatureMask, GaussianNoise

N_DRAWS = 100_000


def _bound(p: float, n: int = N_DRAWS) -> float:
    return 5 * math.sqrt(p * (1 - p) / n)


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.75])
def test_feature_dropout_zeroes_each_entry_with_probability_p(p):
    x = torch.rand(200, 500) + 0.5  # no zero in the input: a zero in the output was dropped
    out = FeatureDropout(p=p)(x, generator=_g())
    dropped = out == 0
    assert abs(float(dropped.float().mean()) - p) < _bound(p)
    assert torch.equal(out[~dropped], x[~dropped])  # kept entries untouched without rescale
    # independent per entry: the per-column rates scatter like Binomial(200, p) / 200, not 0 / 1
    col = dropped.float().mean(dim=0)
    assert 0 < float(col.min()) and float(col.max()) < 1


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_feature_dropout_rescale_keeps_the_expectation(p):
    """Kept entries are exactly x / (1 - p) (catches x * (1 - p), or x / p); and the output mean
    of x = 1 is 1 within 5 standard deviations, sd = sqrt(p / ((1 - p) n)) (the mean of n
    i.i.d. Bernoulli(1 - p) / (1 - p))."""
    x = torch.ones(200, 500, dtype=torch.float64)
    out = FeatureDropout(p=p, rescale=True)(x, generator=_g(1))
    kept = out != 0
    torch.testing.assert_close(out[kept], torch.full_like(out[kept], 1 / (1 - p)), rtol=0, atol=0)
    assert abs(float(out.mean()) - 1) < 5 * math.sqrt(p / ((1 - p) * N_DRAWS))
    assert abs(float((~kept).double().mean()) - p) < _bound(p)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_feature_mask_masks_each_dimension_with_probability_p(p):
    """100 calls on 1,000 dimensions: 100,000 Bernoulli(p) draws of "dimension masked"; every
    masked dimension is zero in every row and every kept one untouched (catches a per-element
    mask: its rows would disagree)."""
    x = torch.rand(4, 1000) + 0.5
    g = _g(2)
    masked = []
    for _ in range(100):
        out = FeatureMask(p=p)(x, generator=g)
        zero = out == 0
        assert torch.equal(zero, zero[:1].expand_as(zero))  # the same dimensions in every row
        assert torch.equal(out[~zero], x[~zero])
        masked.append(zero[0])
    masked = torch.stack(masked).float()
    assert abs(float(masked.mean()) - p) < _bound(p)
    # a fresh mask per call: the dimensions masked change between calls
    assert float(masked.std(dim=0).mean()) > 0.5 * math.sqrt(p * (1 - p))


@pytest.mark.parametrize("std", [0.05, 0.5, 2.0])
def test_gaussian_noise_has_variance_std_squared(std):
    """x + N(0, std^2): over n = 100,000 entries the sample variance of the noise has relative
    standard deviation sqrt(2 / n) = 4.5e-3 (chi-square), bound 5 of those = 2.2%; its mean has
    standard deviation std / sqrt(n), bound 5 of those. Catches std used as the variance
    (std^2 for std = 0.5: variance 0.0625 instead of 0.25) and noise that is not centred."""
    x = torch.randn(200, 500, generator=_g(3), dtype=torch.float64)
    noise = GaussianNoise(std=std)(x, generator=_g(4)) - x
    var = float(noise.var())
    assert abs(var / std**2 - 1) < 5 * math.sqrt(2 / N_DRAWS)
    assert abs(float(noise.mean())) < 5 * std / math.sqrt(N_DRAWS)
    # kurtosis of a Gaussian is 3 (sd of the estimate ~ sqrt(24 / n) = 0.015): catches uniform
    # noise scaled to the right variance (kurtosis 1.8)
    kurt = float(((noise - noise.mean()) ** 4).mean()) / var**2
    assert abs(kurt - 3) < 5 * math.sqrt(24 / N_DRAWS)
