"""The per-element pseudo-Huber deviation against a brute-force loop."""

from __future__ import annotations

import math

import torch

from concord.losses import PseudoHuber
from concord_diffusion.losses import PerElementPseudoHuber


def test_brute_force_loop_over_elements():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(3, 1, 4, 4, generator=g), torch.randn(3, 1, 4, 4, generator=g)
    w = torch.tensor([1.0, 2.0, 0.5])
    c = 0.00054 * math.sqrt(16)
    total = 0.0
    for n in range(3):
        per = [math.sqrt((float(a) - float(b)) ** 2 + c * c) - c for a, b in zip(x[n].flatten(), y[n].flatten())]
        total += float(w[n]) * sum(per) / 16
    assert math.isclose(float(PerElementPseudoHuber()(x, y, w)), total / 3, rel_tol=1e-5)


def test_differs_from_the_papers_norm_of_the_whole_vector():
    """The same c on the same pair: per element sqrt(1 + c^2) - c, whole vector sqrt(d + c^2) - c."""
    x, y = torch.zeros(1, 16), torch.ones(1, 16)
    c = 0.1
    assert math.isclose(float(PerElementPseudoHuber(c=c)(x, y)), math.sqrt(1 + c * c) - c, rel_tol=1e-6)
    assert math.isclose(float(PseudoHuber(c=c)(x, y)), math.sqrt(16 + c * c) - c, rel_tol=1e-6)
