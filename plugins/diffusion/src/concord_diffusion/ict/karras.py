"""The Karras et al. noise-level grid that consistency training discretises time with."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from concord.errors import ConfigError

__all__ = ["check_noise_range", "karras_sigmas"]


def check_noise_range(sigma_min: float, sigma_max: float, rho: float) -> None:
    """``0 < sigma_min < sigma_max`` (finite) and ``rho > 0``, else a ``ConfigError`` naming the values."""
    for name, value in (("sigma_min", sigma_min), ("sigma_max", sigma_max), ("rho", rho)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if sigma_min <= 0:
        raise ConfigError(f"sigma_min must be > 0, got {sigma_min!r}")
    if sigma_min >= sigma_max:
        raise ConfigError(f"sigma_min must be < sigma_max, got sigma_min={sigma_min!r} >= sigma_max={sigma_max!r}")
    if rho <= 0:
        raise ConfigError(f"rho must be > 0, got {rho!r}")


def karras_sigmas(
    n: int, *, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0
) -> Tensor:
    r"""The ``N`` noise levels of consistency training, ascending (Song & Dhariwal 2023,
    `Improved Techniques for Training Consistency Models <https://arxiv.org/abs/2310.14189>`_,
    Sec. 2, after Karras et al. 2022):

    .. math::
        \sigma_i = \Bigl(\sigma_{\min}^{1/\rho} + \tfrac{i-1}{N-1}
        \bigl(\sigma_{\max}^{1/\rho} - \sigma_{\min}^{1/\rho}\bigr)\Bigr)^{\rho},
        \qquad i = 1, \dots, N.

    The end points are set to exactly ``sigma_min`` and ``sigma_max``: in floating point
    :math:`(\sigma_{\min}^{1/\rho})^\rho` is off by an ulp, and the boundary condition
    :math:`f(x, \sigma_{\min}) = x` holds exactly only at exactly :math:`\sigma_{\min}`.

    Args:
        n: number of levels :math:`N \ge 2` (``N - 1`` intervals).
        sigma_min: :math:`\sigma_{\min}` (default: ``0.002``).
        sigma_max: :math:`\sigma_{\max}` (default: ``80.0``).
        rho: :math:`\rho` (default: ``7.0``).

    Returns:
        ``(N,)`` float64, ``sigmas[0] == sigma_min < ... < sigmas[-1] == sigma_max``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError(f"the number of noise levels must be an integer >= 2, got {n!r}")
    check_noise_range(sigma_min, sigma_max, rho)
    ramp = torch.arange(n, dtype=torch.float64) / (n - 1)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    sigmas = (lo + ramp * (hi - lo)) ** rho
    sigmas[0], sigmas[-1] = sigma_min, sigma_max
    return sigmas
