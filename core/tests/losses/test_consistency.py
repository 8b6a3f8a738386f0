"""Consistency distances against closed forms."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from concord.losses import L2, Cauchy, KLConsistency, PseudoHuber


def test_pseudo_huber_over_the_whole_sample_vector():
    x = torch.zeros(2, 3, 4)
    y = torch.ones(2, 3, 4)  # ||x - y||^2 = 12 per sample
    c = 0.5
    expected = math.sqrt(12 + c * c) - c
    assert math.isclose(float(PseudoHuber(c=c)(x, y)), expected, rel_tol=1e-6)
    per_element = math.sqrt(1 + c * c) - c  # what a per-element implementation would give
    assert not math.isclose(float(PseudoHuber(c=c)(x, y)), per_element, rel_tol=1e-3)


def test_pseudo_huber_default_c_is_ict_rule():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(3, 3, 32, 32, generator=g), torch.randn(3, 3, 32, 32, generator=g)
    c = 0.00054 * math.sqrt(3 * 32 * 32)
    d2 = ((x - y) ** 2).flatten(1).sum(1)
    expected = (torch.sqrt(d2 + c * c) - c).mean()
    torch.testing.assert_close(PseudoHuber()(x, y), expected)
    assert math.isclose(c, 0.0299, rel_tol=1e-2)


def test_pseudo_huber_limits():
    x = torch.zeros(1, 10)
    small = torch.full((1, 10), 1e-4)
    c = 1.0
    assert math.isclose(float(PseudoHuber(c=c)(x, small)), 10 * 1e-8 / (2 * c), rel_tol=1e-3)
    big = torch.full((1, 10), 1e3)
    assert math.isclose(float(PseudoHuber(c=c)(x, big)), math.sqrt(10) * 1e3 - 1, rel_tol=1e-4)


def test_per_sample_hook_replaces_the_norm_and_keeps_the_checks():
    """A subclass overriding ``per_sample`` is what ``forward`` averages (weighted), and the shape /
    weight / NaN checks of ``forward`` still run. Catches a forward that bypasses the hook."""

    class MeanAbs(PseudoHuber):
        def per_sample(self, diff, d):
            return diff.abs().mean(dim=1)

    x = torch.zeros(2, 2, 2)
    y = torch.tensor([[[1.0, 1.0], [1.0, 1.0]], [[0.0, 0.0], [0.0, 4.0]]])
    w = torch.tensor([2.0, 0.5])
    assert math.isclose(float(MeanAbs()(x, y)), (1.0 + 1.0) / 2, rel_tol=1e-6)
    assert math.isclose(float(MeanAbs()(x, y, w)), (2.0 * 1.0 + 0.5 * 1.0) / 2, rel_tol=1e-6)
    with pytest.raises(ValueError, match="weight must have shape"):
        MeanAbs()(x, y, torch.ones(3))


def test_cauchy_closed_form_and_weights():
    x = torch.zeros(3, 5)
    y = torch.tensor([[1.0] * 5, [2.0] * 5, [0.0] * 5])
    c = 0.7
    per = [math.log1p(5 * v * v / (2 * c * c)) for v in (1.0, 2.0, 0.0)]
    assert math.isclose(float(Cauchy(c=c)(x, y)), sum(per) / 3, rel_tol=1e-6)
    w = torch.tensor([0.5, 2.0, 1.0])
    assert math.isclose(float(Cauchy(c=c)(x, y, w)), (0.5 * per[0] + 2 * per[1]) / 3, rel_tol=1e-6)


def test_l2_variants():
    x = torch.zeros(2, 4)
    y = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 3.0, 4.0]])
    assert math.isclose(float(L2()(x, y)), (4 + 25) / 2, rel_tol=1e-6)
    assert math.isclose(float(L2(squared=False)(x, y)), (2 + 5) / 2, rel_tol=1e-6)
    assert math.isclose(float(L2(mean=True)(x, y)), (1 + 25 / 4) / 2, rel_tol=1e-6)
    z = torch.zeros(2, 4, requires_grad=True)
    L2(squared=False)(z, torch.zeros(2, 4)).backward()
    assert torch.isfinite(z.grad).all()


def test_kl_consistency_matches_uda_formula():
    g = torch.Generator().manual_seed(1)
    weak = 3 * torch.randn(6, 4, generator=g)
    strong = torch.randn(6, 4, generator=g, requires_grad=True)
    tau, beta = 0.4, 0.8
    got = KLConsistency(temperature=tau, threshold=beta)(weak, strong)
    total = 0.0
    for i in range(6):
        p_weak = F.softmax(weak[i], dim=0)
        if float(p_weak.max()) <= beta:
            continue
        target = F.softmax(weak[i] / tau, dim=0)
        q = F.softmax(strong[i], dim=0)
        total += float((target * (target.log() - q.log())).sum().detach())
    assert math.isclose(float(got.detach()), total / 6, rel_tol=1e-5, abs_tol=1e-7)
    got.backward()
    assert strong.grad is not None


def test_kl_consistency_is_zero_for_identical_unsharpened_views():
    x = torch.randn(5, 3)
    assert float(KLConsistency(temperature=None, threshold=None)(x, x)) == pytest.approx(0, abs=1e-7)


def test_kl_weak_view_is_stop_gradient():
    weak = torch.randn(4, 3, requires_grad=True)
    strong = torch.randn(4, 3, requires_grad=True)
    KLConsistency(threshold=None)(weak, strong).backward()
    assert weak.grad is None


@pytest.mark.parametrize("cls", [PseudoHuber, Cauchy, L2])
def test_distance_bad_inputs(cls):
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="x and y shapes differ"):
        cls()(x, x[:2])
    with pytest.raises(ValueError, match="non-finite"):
        cls()(x * float("nan"), x)
