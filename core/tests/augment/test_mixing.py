"""mixup and CutMix: the mixed batch recovered exactly from what they return, the box's area
equals 1 - lambda, and lambda follows Beta(alpha, alpha)."""

from __future__ import annotations

import pytest
import torch

from concord.augment.cutmix import CutMix
from concord.augment.mixing import sample_beta
from concord.augment.mixup import Mixup


def _partner_rows(mixed, x, lam):
    """For each row, the row j of x with mixed = lam x_i + (1 - lam) x_j (found by search)."""
    found = []
    for i in range(len(x)):
        rest = (mixed[i] - lam[i] * x[i]) / (1 - lam[i])
        errors = [(float((rest - x[j]).abs().max()), j) for j in range(len(x))]
        err, j = min(errors)
        assert err < 1e-4, f"row {i} is not a mixture of itself and another row"
        found.append(j)
    return found


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_mixup_is_a_convex_combination_with_a_permutation(mode):
    """Catches: mixing with a random row instead of a permutation, labels of the partner not
    those of the mixed row, lambda and 1 - lambda swapped."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 3, 2, generator=g, dtype=torch.float64)
    y = torch.arange(8) * 10
    mixed, y_a, y_b, lam = Mixup(alpha=0.8, lam_mode=mode)((x, y), generator=torch.Generator().manual_seed(5))
    partner = _partner_rows(mixed, x, lam.double())
    assert sorted(partner) == list(range(8))
    assert torch.equal(y_a, y) and y_b.tolist() == [y[j].item() for j in partner]
    assert (len(set(lam.tolist())) == 1) == (mode == "batch")


def test_cutmix_pastes_one_box_and_lambda_is_its_complement_area():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(6, 3, 20, 16, generator=g)
    y = torch.arange(6)
    for seed in range(10):
        mixed, _, y_b, lam = CutMix(alpha=1.0)((x, y), generator=torch.Generator().manual_seed(seed))
        changed = (mixed != x).any(dim=1)  # (N, H, W)
        moved = [i for i in range(6) if y_b[i] != i]
        if not moved or float(lam[0]) == 1.0:
            continue
        box = changed[moved[0]]
        rows, cols = box.any(dim=1).nonzero().flatten(), box.any(dim=0).nonzero().flatten()
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        assert bool(box[r0:r1, c0:c1].all()) and int(box.sum()) == (r1 - r0) * (c1 - c0), "a rectangle"
        assert float(lam[0]) == pytest.approx(1 - (r1 - r0) * (c1 - c0) / (20 * 16), abs=1e-6)
        for i in range(6):
            assert torch.equal(mixed[i][..., r0:r1, c0:c1], x[int(y_b[i])][..., r0:r1, c0:c1])
            outside = mixed[i].clone()
            outside[..., r0:r1, c0:c1] = x[i][..., r0:r1, c0:c1]
            assert torch.equal(outside, x[i])


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_beta_draws_have_the_beta_moments(alpha):
    """Mean 1/2 and variance 1 / (4 (2 alpha + 1)); 20,000 draws, 5 standard errors."""
    lam = sample_beta(alpha, 20000, torch.Generator().manual_seed(0))
    var = 1 / (4 * (2 * alpha + 1))
    assert abs(float(lam.mean()) - 0.5) < 5 * (var / 20000) ** 0.5
    assert abs(float(lam.var()) - var) < 0.05 * var
