r"""Interval and linear bounds of the piecewise-linear activations
:math:`\sigma(z) = \max(z, 0) + a \min(z, 0)` (ReLU :math:`a = 0`, leaky ReLU, PReLU with its
learned :math:`a`) on an interval :math:`[l, u]`.

Linear relaxation (CROWN, Zhang et al. 2018, `Efficient Neural Network Robustness Certification
with General Activation Functions <https://arxiv.org/abs/1811.00866>`_, Sec. 3.2, Table 1):
for :math:`l < 0 < u` the chord through :math:`(l, al)` and :math:`(u, u)`,

.. math::
    s = \frac{u - a l}{u - l}, \qquad \beta = \frac{(a - 1)\,u\,l}{u - l},

bounds :math:`\sigma` from above when :math:`a \le 1` (convex) and from below when
:math:`a > 1` (concave); the other side is a line through the origin with the adaptive slope
:math:`\lambda = 1` if :math:`u \ge -l` else :math:`a` (CROWN-Ada). For a stable neuron
(:math:`l \ge 0` or :math:`u \le 0`) both lines are :math:`\sigma` itself.

Note: the POT authors' ``get_alpha_beta`` uses the intercept :math:`(a-1)ul/(u - al)`, which is
the chord's only for :math:`a = 0`; for PReLU it is not a valid bound. This module uses the
chord's intercept above (tested against sampled points).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from concord.errors import InputError

__all__ = ["LinearBounds", "activation_interval", "linear_bounds", "negative_slope"]


def negative_slope(act: nn.Module) -> Tensor | float:
    """The slope :math:`a` of a piecewise-linear activation on :math:`z < 0`."""
    if isinstance(act, nn.ReLU):
        return 0.0
    if isinstance(act, nn.LeakyReLU):
        return float(act.negative_slope)
    if isinstance(act, nn.PReLU):
        if act.weight.numel() != 1:
            return act.weight.view(1, -1)
        return act.weight.view(())
    raise InputError(
        f"POT's bound needs a piecewise-linear activation (relu, leaky_relu, prelu); got "
        f"{type(act).__name__}. Use activation='relu' or 'prelu' in the encoder"
    )


def _sigma(z: Tensor, a: Tensor | float) -> Tensor:
    return torch.clamp(z, min=0) + a * torch.clamp(z, max=0)


def activation_interval(lower: Tensor, upper: Tensor, a: Tensor | float) -> tuple[Tensor, Tensor]:
    """Exact range of :math:`\\sigma` over ``[lower, upper]`` (elementwise; also for :math:`a < 0`)."""
    sl, su = _sigma(lower, a), _sigma(upper, a)
    if (isinstance(a, float) and a >= 0) or (isinstance(a, Tensor) and bool((a >= 0).all())):
        return sl, su  # monotone: the ends map to the ends
    lo, hi = torch.minimum(sl, su), torch.maximum(sl, su)
    spans_zero = (lower < 0) & (upper > 0)
    zero = torch.zeros_like(lo)
    lo = torch.where(spans_zero, torch.minimum(lo, zero), lo)
    hi = torch.where(spans_zero, torch.maximum(hi, zero), hi)
    return lo, hi


@dataclass(frozen=True)
class LinearBounds:
    r""":math:`\alpha^L z + \beta^L \le \sigma(z) \le \alpha^U z + \beta^U` on :math:`[l, u]`."""

    lower_slope: Tensor
    lower_intercept: Tensor
    upper_slope: Tensor
    upper_intercept: Tensor


def linear_bounds(lower: Tensor, upper: Tensor, a: Tensor | float) -> LinearBounds:
    """CROWN linear bounds of :math:`\\sigma` on ``[lower, upper]`` (:math:`[l, u]` in the module docstring)."""
    l, u = lower, upper  # noqa: E741 - the symbols of the paper
    a_t = torch.as_tensor(a, dtype=l.dtype, device=l.device).expand_as(l)
    pos = l >= 0
    neg = u <= 0
    unstable = ~(pos | neg)
    width = torch.where(unstable, u - l, torch.ones_like(l))
    chord_slope = (u - a_t * l) / width
    chord_intercept = (a_t - 1) * u * l / width
    origin_slope = torch.where(u >= -l, torch.ones_like(l), a_t)
    convex = a_t <= 1
    stable_slope = torch.where(pos, torch.ones_like(l), a_t)
    zero = torch.zeros_like(l)
    up_s = torch.where(unstable, torch.where(convex, chord_slope, origin_slope), stable_slope)
    up_b = torch.where(unstable & convex, chord_intercept, zero)
    lo_s = torch.where(unstable, torch.where(convex, origin_slope, chord_slope), stable_slope)
    lo_b = torch.where(unstable & ~convex, chord_intercept, zero)
    return LinearBounds(lo_s, lo_b, up_s, up_b)
