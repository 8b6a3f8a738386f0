"""Curricula N(k) against a brute-force simulation and the paper's own numbers."""

from __future__ import annotations

import math

import pytest

from concord_diffusion.ict.curriculum import (
    ct_discretization,
    ct_teacher_decay,
    doubling_interval,
    ict_discretization,
)
from concord_diffusion.ict.loss_weighting import ict_weighting, uniform_weighting


def _simulate_doubling(total: int, s0: int, s1: int) -> list[int]:
    """Start with s0 intervals and double them every K' steps until s1: a loop, no formula."""
    stages = 1
    ratio = s1 // s0
    while ratio > 1:  # log2 of floor(s1/s0) for powers of two, counted
        ratio //= 2
        stages += 1
    interval = total // stages
    out, current = [], s0
    for k in range(total):
        if k > 0 and k % interval == 0:
            current = min(current * 2, s1)
        out.append(current + 1)
    return out


@pytest.mark.parametrize("total", [400_000, 8000, 37])
def test_ict_curriculum_equals_the_simulation(total):
    """Catches K' computed without the +1, doubling without the cap, or N without the +1."""
    sim = _simulate_doubling(total, 10, 1280)
    got = [ict_discretization(k, total, 10, 1280) for k in range(0, total, max(1, total // 4000))]
    assert got == sim[:: max(1, total // 4000)]


def test_paper_numbers():
    """K = 400k iterations (iCT CIFAR-10): K' = 50,000; N goes 11, 21, ..., 1281."""
    assert doubling_interval(400_000) == 50_000
    assert ict_discretization(0, 400_000) == 11
    assert ict_discretization(49_999, 400_000) == 11
    assert ict_discretization(50_000, 400_000) == 21
    assert ict_discretization(349_999, 400_000) == 641
    assert ict_discretization(350_000, 400_000) == 1281
    assert ict_discretization(10**9, 400_000) == 1281


def test_non_power_of_two_ratio():
    """floor(s1 / s0) = 12: log2(12) + 1 = 4.58..., K' = floor(1000 / 4.58) = 218."""
    assert doubling_interval(1000, 10, 125) == math.floor(1000 / (math.log2(12) + 1)) == 218
    assert ict_discretization(218 * 3, 1000, 10, 125) == 81
    assert ict_discretization(218 * 4, 1000, 10, 125) == 126


def test_fewer_steps_than_stages_doubles_every_step():
    assert doubling_interval(5) == 1
    assert [ict_discretization(k, 5) for k in range(5)] == [11, 21, 41, 81, 161]


def test_ct_curriculum_end_points_and_growth():
    """N(0) = s0 and N(K) = s1 + 1 (the formula at its ends); non-decreasing between."""
    assert ct_discretization(0, 1000, 2, 150) == 2
    assert ct_discretization(1000, 1000, 2, 150) == 151
    values = [ct_discretization(k, 1000, 2, 150) for k in range(1001)]
    assert values == sorted(values)
    k = 250
    expected = math.ceil(math.sqrt(k / 1000 * (151**2 - 4) + 4) - 1) + 1
    assert ct_discretization(k, 1000, 2, 150) == expected == 76


def test_ct_teacher_decay():
    """mu(k) = exp(s0 ln mu0 / N(k)): mu0 at N = s0, towards 1 as N grows."""
    assert math.isclose(ct_teacher_decay(2, 2, 0.9), 0.9, rel_tol=1e-15)
    assert math.isclose(ct_teacher_decay(151, 2, 0.9), 0.9 ** (2 / 151), rel_tol=1e-15)


def test_weighting_by_hand():
    import torch

    s = torch.tensor([1.0, 2.0, 4.0, 4.5], dtype=torch.float64)
    torch.testing.assert_close(ict_weighting(s), torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64))
    torch.testing.assert_close(uniform_weighting(s), torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize(
    "fn, args, match",
    [
        (ict_discretization, (0, 100, 20, 10), "s0 must be <= s1"),
        (ct_discretization, (0, 100, 200, 150), "s0 must be <= s1"),
        (ict_discretization, (-1, 100), "k must be"),
        (ict_discretization, (0, 0), "K must be"),
        (ct_teacher_decay, (10, 2, 1.0), "mu0"),
    ],
)
def test_bad_input(fn, args, match):
    with pytest.raises(ValueError, match=match):
        fn(*args)
