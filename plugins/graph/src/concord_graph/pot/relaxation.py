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

:func:`linear_bounds` is what the certified bound uses. :func:`authors_linear_bounds` is the
relaxation of the POT authors' ``get_alpha_beta`` (``POT-GCL/GRACE/my_utils.py``, lines
104-119), reproduced for ``pot.bound: authors``: on an unstable neuron *both* lines take the
chord's slope :math:`s`, the lower one through the origin and the upper one with the intercept
:math:`(a-1)\,u\,l / (u - a l)`. That intercept is never the chord's
:math:`(a-1)\,u\,l / (u - l)` (for ReLU it is :math:`-l` instead of :math:`-ul/(u-l)`); for
:math:`0 \le a \le 1` it lies above the chord, so both lines are valid but the upper one is
looser; outside :math:`[0, 1]` neither line is a bound (tested at sampled points).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from concord.errors import InputError

__all__ = ["LinearBounds", "activation_interval", "authors_linear_bounds", "linear_bounds", "negative_slope",
           "parallel_linear_bounds"]


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


@dataclass(frozen=True)
class _Neurons:
    """Which neurons of ``[l, u]`` are stable, and the chord of the unstable ones."""

    a: Tensor
    pos: Tensor
    neg: Tensor
    unstable: Tensor
    chord_slope: Tensor
    chord_intercept: Tensor

    @classmethod
    def of(cls, l: Tensor, u: Tensor, a: Tensor | float) -> _Neurons:  # noqa: E741 - the paper's symbols
        a_t = torch.as_tensor(a, dtype=l.dtype, device=l.device).expand_as(l)
        pos, neg = l >= 0, u <= 0
        unstable = ~(pos | neg)
        width = torch.where(unstable, u - l, torch.ones_like(l))
        return cls(a_t, pos, neg, unstable, (u - a_t * l) / width, (a_t - 1) * u * l / width)


def linear_bounds(lower: Tensor, upper: Tensor, a: Tensor | float) -> LinearBounds:
    """CROWN linear bounds of :math:`\\sigma` on ``[lower, upper]`` (:math:`[l, u]` in the module docstring)."""
    l, u = lower, upper  # noqa: E741 - the symbols of the paper
    nn_ = _Neurons.of(l, u, a)
    a_t, pos, unstable = nn_.a, nn_.pos, nn_.unstable
    chord_slope, chord_intercept = nn_.chord_slope, nn_.chord_intercept
    origin_slope = torch.where(u >= -l, torch.ones_like(l), a_t)
    convex = a_t <= 1
    stable_slope = torch.where(pos, torch.ones_like(l), a_t)
    zero = torch.zeros_like(l)
    up_s = torch.where(unstable, torch.where(convex, chord_slope, origin_slope), stable_slope)
    up_b = torch.where(unstable & convex, chord_intercept, zero)
    lo_s = torch.where(unstable, torch.where(convex, origin_slope, chord_slope), stable_slope)
    lo_b = torch.where(unstable & ~convex, chord_intercept, zero)
    return LinearBounds(lo_s, lo_b, up_s, up_b)


def authors_linear_bounds(lower: Tensor, upper: Tensor, a: Tensor | float) -> LinearBounds:
    r"""The POT authors' relaxation (``get_alpha_beta``): slope :math:`1` where :math:`l \ge 0`,
    :math:`a` where :math:`u \le 0`, otherwise the chord slope :math:`s = (u - al)/(u - l)` for
    both lines, with intercepts :math:`\beta^L = 0` and :math:`\beta^U = (a-1)ul/(u - al)`."""
    l, u = lower, upper  # noqa: E741 - the symbols of the paper
    nn_ = _Neurons.of(l, u, a)
    a_t, unstable = nn_.a, nn_.unstable
    one = torch.ones_like(l)
    rise = torch.where(unstable, u - a_t * l, one)
    # where l = u = 0 both masks hold; the authors assign `a` last, so it wins
    slope = torch.where(nn_.neg, a_t, torch.where(nn_.pos, one, nn_.chord_slope))
    intercept = torch.where(unstable, (a_t - 1) * u * l / rise, torch.zeros_like(l))
    return LinearBounds(slope, torch.zeros_like(l), slope, intercept)


def parallel_linear_bounds(lower: Tensor, upper: Tensor, a: Tensor | float) -> LinearBounds:
    r"""Linear bounds of :math:`\sigma` on ``[lower, upper]`` with *one* slope for both lines: on an
    unstable neuron the chord (slope :math:`s`, intercept :math:`\beta = (a-1)ul/(u-l)`) and its
    parallel through the origin; stable neurons are exact.

    For :math:`a \le 1` (convex) the chord is the upper line and :math:`sz` the lower one (valid
    since :math:`a \le s \le 1`); for :math:`a > 1` the roles swap (:math:`1 \le s \le a`). With
    equal slopes, a linear form :math:`c \cdot \sigma(z)` is bounded by :math:`(c \odot s) \cdot z`
    plus an intercept whatever the signs of :math:`c` -- what lets the certified bound push one
    product per layer through the graph instead of two (:mod:`concord_graph.pot.back_substitution`).
    """
    nn_ = _Neurons.of(lower, upper, a)
    a_t, unstable = nn_.a, nn_.unstable
    slope = torch.where(unstable, nn_.chord_slope, torch.where(nn_.pos, torch.ones_like(a_t), a_t))
    chord = torch.where(unstable, nn_.chord_intercept, torch.zeros_like(a_t))
    convex = a_t <= 1
    zero = torch.zeros_like(a_t)
    return LinearBounds(slope, torch.where(convex, zero, chord), slope, torch.where(convex, chord, zero))
