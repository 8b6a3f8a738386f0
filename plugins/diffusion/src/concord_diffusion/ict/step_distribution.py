"""Which discretisation interval a training sample uses: iCT's discretised lognormal, or uniform."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from concord.errors import ConfigError, InputError

__all__ = ["lognormal_step_probabilities", "sample_steps", "uniform_step_probabilities"]


def lognormal_step_probabilities(sigmas: Tensor, *, p_mean: float = -1.1, p_std: float = 2.0) -> Tensor:
    r"""iCT's discretised lognormal distribution over the intervals of the grid (Song & Dhariwal
    2023, `Improved Techniques for Training Consistency Models
    <https://arxiv.org/abs/2310.14189>`_, Sec. 3.5, Eq. 10):

    .. math::
        p(\sigma_i) \propto
        \operatorname{erf}\Bigl(\frac{\ln \sigma_{i+1} - P_{\text{mean}}}{\sqrt 2\, P_{\text{std}}}\Bigr)
        - \operatorname{erf}\Bigl(\frac{\ln \sigma_i - P_{\text{mean}}}{\sqrt 2\, P_{\text{std}}}\Bigr),
        \qquad i = 1, \dots, N - 1,

    the mass the lognormal :math:`\ln \sigma \sim \mathcal N(P_{\text{mean}}, P_{\text{std}}^2)`
    puts on :math:`[\sigma_i, \sigma_{i+1}]`, renormalised over the grid.

    Args:
        sigmas: ``(N,)`` ascending noise levels (:func:`~concord_diffusion.ict.karras.karras_sigmas`).
        p_mean: :math:`P_{\text{mean}}` (default: ``-1.1``).
        p_std: :math:`P_{\text{std}} > 0` (default: ``2.0``).

    Returns:
        ``(N - 1,)`` float64 probabilities summing to 1; entry ``i`` is the interval
        :math:`[\sigma_{i+1}, \sigma_{i+2}]` in the paper's 1-based numbering.
    """
    _check_grid(sigmas)
    if not math.isfinite(p_mean):
        raise ConfigError(f"p_mean must be finite, got {p_mean!r}")
    if not math.isfinite(p_std) or p_std <= 0:
        raise ConfigError(f"p_std must be finite and > 0, got {p_std!r}")
    z = (torch.log(sigmas.to(torch.float64)) - p_mean) / (math.sqrt(2.0) * p_std)
    mass = torch.special.erf(z[1:]) - torch.special.erf(z[:-1])
    total = mass.sum()
    if not bool(total > 0):
        raise ConfigError("the lognormal puts no mass on the grid (every interval underflows); check p_mean / p_std")
    return mass / total


def uniform_step_probabilities(sigmas: Tensor) -> Tensor:
    """Every interval equally likely (the original consistency training, Song et al. 2023,
    `Consistency Models <https://arxiv.org/abs/2303.01469>`_, Alg. 3: ``n ~ U[1, N - 1]``)."""
    _check_grid(sigmas)
    n = sigmas.shape[0] - 1
    return torch.full((n,), 1.0 / n, dtype=torch.float64)


def sample_steps(probabilities: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """``n`` interval indices drawn with replacement from ``probabilities`` (``(N - 1,)``); ``(n,)`` int64."""
    return torch.multinomial(probabilities.to(torch.float64), n, replacement=True, generator=generator)


def _check_grid(sigmas: Tensor) -> None:
    if sigmas.dim() != 1 or sigmas.shape[0] < 2:
        raise InputError(f"sigmas must be a 1-D grid of at least 2 levels, got shape {tuple(sigmas.shape)}")
    if not bool((sigmas[1:] > sigmas[:-1]).all()) or not bool((sigmas > 0).all()):
        raise InputError("sigmas must be positive and strictly ascending")
