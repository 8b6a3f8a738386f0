"""Feature transformation: extrapolation and interpolation recovered exactly from the outputs,
and the coefficients' Beta moments."""

from __future__ import annotations

import pytest
import torch

from concord.augment.feature_transformation import FeatureTransformation


def _data(seed):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(6, 4, generator=g, dtype=torch.float64)
    return q, q + 0.5 * torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(9, 4, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("mask", ["scalar", "element"])
def test_positive_extrapolation_and_negative_interpolation(mask):
    """q' + k' = q + k and q' - k' = (2 lam - 1)(q - k) with lam in [1, 2]; each negative is a
    convex combination of itself and a permuted partner. Catches: interpolating the positives
    (lam in [0, 1] pulls them together), extrapolating the negatives, the positive mixed into
    the negatives, one partner for all negatives."""
    q, k, neg = _data(0)
    q2, k2, _ = FeatureTransformation(mask=mask)((q, k, neg), generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(q2 + k2, q + k)
    lam = ((q2 - k2) / (q - k) + 1) / 2
    assert bool(((lam >= 1) & (lam <= 2)).all())
    if mask == "scalar":
        assert torch.allclose(lam, lam.flatten()[0].expand_as(lam))
    # one-hot negatives n_i = (i + 1) e_i: a mixture's support names its partner exactly
    basis = torch.diag(torch.arange(1, 10, dtype=torch.float64))
    q9, k9 = torch.randn(6, 9, dtype=torch.float64), torch.randn(6, 9, dtype=torch.float64)
    _, _, mixed = FeatureTransformation(mask=mask)((q9, k9, basis), generator=torch.Generator().manual_seed(4))
    partners = []
    for i in range(9):
        support = [int(j) for j in mixed[i].nonzero().flatten()]
        assert i in support and len(support) <= 2, support
        j = next((j for j in support if j != i), i)
        partners.append(j)
        lam_i = mixed[i, i] / (i + 1)
        assert 0 <= float(lam_i) <= 1 or j == i
        if j != i:
            lam_j = 1 - mixed[i, j] / (j + 1)
            assert 0 <= float(lam_j) <= 1
            if mask == "scalar":
                torch.testing.assert_close(lam_i, lam_j)
    assert sorted(partners) == list(range(9)), "the partners form a permutation"


def test_positive_coefficient_moments():
    """lam+ - 1 ~ Beta(2, 2): mean 1/2, variance 1/20 (elementwise draws, 5 standard errors)."""
    q = torch.zeros(200, 100, dtype=torch.float64)
    k = torch.ones(200, 100, dtype=torch.float64)
    q2, _ = FeatureTransformation(mask="element")((q, k), generator=torch.Generator().manual_seed(0))
    lam = 1 - q2  # q2 = lam * 0 + (1 - lam) * 1
    assert abs(float(lam.mean()) - 1.5) < 5 * (0.05 / lam.numel()) ** 0.5
    assert abs(float(lam.var()) - 0.05) < 0.003


def test_renormalize_and_gradients_flow():
    q, k, neg = (t.requires_grad_(True) for t in _data(1))
    out = FeatureTransformation(renormalize=True)((q, k, neg), generator=torch.Generator().manual_seed(0))
    for t in out:
        torch.testing.assert_close(t.norm(dim=1), torch.ones(len(t), dtype=torch.float64))
    sum(t.sum() for t in out).backward()
    assert q.grad is not None and k.grad is not None and neg.grad is not None
