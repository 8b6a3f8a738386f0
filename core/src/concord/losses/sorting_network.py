r"""Differentiable sorting networks: an odd-even transposition network whose comparators swap by
a monotonic sigmoid (Petersen et al. 2021, `Differentiable Sorting Networks for Scalable Sorting
and Ranking Supervision <https://arxiv.org/abs/2105.04019>`_; 2022, `Monotonic Differentiable
Sorting Networks <https://arxiv.org/abs/2203.09630>`_).

Each comparator of wires :math:`a < b` computes, with :math:`\alpha = \sigma(\beta (x_b - x_a))`
(:math:`\beta` the steepness),

.. math::
    x'_a = \alpha x_a + (1 - \alpha) x_b \ (\text{soft min}),\qquad
    x'_b = (1 - \alpha) x_a + \alpha x_b \ (\text{soft max}),

and applies the same mixing to the columns :math:`a, b` of a relaxed permutation matrix
:math:`P`, so that :math:`P_{ip}` is the probability that input :math:`i` ends at (ascending)
position :math:`p`; :math:`P` stays doubly stochastic. Layer :math:`\ell` of the :math:`n`
layers compares the pairs :math:`(i, i + 1)` with :math:`i \equiv \ell \pmod 2`. The default
sigmoid is the Cauchy CDF :math:`\sigma(v) = \arctan(v) / \pi + 1/2`, the monotonic one of the
2022 paper (the one GroCo uses); ``"logistic"`` is :math:`1 / (1 + e^{-v})`.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

__all__ = ["soft_sort"]


def soft_sort(
    x: Tensor, *, steepness: float = 1.0, sigmoid: Literal["cauchy", "logistic"] = "cauchy"
) -> tuple[Tensor, Tensor]:
    """Soft-sort each row of ``x`` ascending. Returns ``(values (B, n), P (B, n, n))``."""
    b, n = x.shape
    p = torch.eye(n, dtype=x.dtype, device=x.device).expand(b, n, n)
    for layer in range(n):
        a = torch.arange(layer % 2, n - 1, 2, device=x.device)
        if a.numel() == 0:
            continue
        c = a + 1
        v = steepness * (x[:, c] - x[:, a])
        alpha = torch.atan(v) / math.pi + 0.5 if sigmoid == "cauchy" else torch.sigmoid(v)
        xa, xc = x[:, a], x[:, c]
        x = x.index_copy(1, a, alpha * xa + (1 - alpha) * xc).index_copy(1, c, (1 - alpha) * xa + alpha * xc)
        w = alpha[:, None, :]
        pa, pc = p[:, :, a], p[:, :, c]
        p = p.index_copy(2, a, w * pa + (1 - w) * pc).index_copy(2, c, (1 - w) * pa + w * pc)
    return x, p
