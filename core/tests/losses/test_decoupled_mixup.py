"""Decoupled mixup against its formula written out class by class."""

from __future__ import annotations

import math

import pytest
import torch

from concord.losses.decoupled_mixup import DecoupledMixup


def dm_loop(z, a, b, lam, eta, mode="both", thr=0.5):
    """OpenMixup's soft_mix_cross_entropy with use_mix_decouple, one row and class at a time."""
    total = 0.0
    for i in range(len(z)):
        row = z[i].tolist()
        lse = math.log(sum(math.exp(v) for v in row))
        li = float(lam[i])
        ce = -(li * (row[a[i]] - lse) + (1 - li) * (row[b[i]] - lse))
        if a[i] != b[i]:
            lse_wo_b = math.log(sum(math.exp(v) for c, v in enumerate(row) if c != b[i]))
            lse_wo_a = math.log(sum(math.exp(v) for c, v in enumerate(row) if c != a[i]))
            w_a, w_b = li, 1 - li
            if mode != "both":
                keep_a = (li < thr) == (mode == "less")
                w_a, w_b = (li, 0.0) if keep_a else (0.0, 1 - li)
            ce += eta * -(w_a * (row[a[i]] - lse_wo_b) + w_b * (row[b[i]] - lse_wo_a))
        total += ce
    return total / len(z)


@pytest.mark.parametrize("eta, mode, thr", [(0.1, "both", 0.5), (1.0, "less", 0.5), (2.0, "more", 0.3), (0.0, "both", 0.5)])
def test_equals_formula(eta, mode, thr):
    """Catches: the other mixed class left in the decoupled softmax, the decoupled term not
    weighted by lambda, the a == b rows given a decoupled term, the modes swapped."""
    g = torch.Generator().manual_seed(int(eta * 10))
    z = 3 * torch.randn(9, 6, generator=g, dtype=torch.float64)
    a = torch.randint(0, 6, (9,), generator=g)
    b = torch.randint(0, 6, (9,), generator=g)
    b[0] = a[0]  # one row mixed within a class
    lam = torch.rand(9, generator=g, dtype=torch.float64)
    ours = DecoupledMixup(eta=eta, eta_mode=mode, eta_threshold=thr)(z, a, b, lam)
    assert ours.item() == pytest.approx(dm_loop(z, a.tolist(), b.tolist(), lam, eta, mode, thr), rel=1e-12)


def test_zero_eta_is_mixup_cross_entropy():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5, 4, generator=g)
    a, b = torch.tensor([0, 1, 2, 3, 0]), torch.tensor([1, 2, 3, 0, 0])
    ce = torch.nn.functional.cross_entropy
    expected = 0.3 * ce(z, a) + 0.7 * ce(z, b)
    torch.testing.assert_close(DecoupledMixup(eta=0.0)(z, a, b, 0.3), expected)


def test_confident_on_both_classes_costs_less_with_the_decoupled_term():
    """The point of the regulariser: logits high on both mixed classes are penalised by the
    mixup CE (they compete) but the decoupled term rewards them."""
    z_both = torch.tensor([[5.0, 5.0, 0.0, 0.0]])
    z_one = torch.tensor([[5.0, 0.0, 0.0, 0.0]])
    a, b = torch.tensor([0]), torch.tensor([1])
    dm = DecoupledMixup(eta=1.0)
    ce_only = DecoupledMixup(eta=0.0)
    gain = (dm(z_one, a, b, 0.5) - dm(z_both, a, b, 0.5)) - (ce_only(z_one, a, b, 0.5) - ce_only(z_both, a, b, 0.5))
    assert float(gain) > 0
