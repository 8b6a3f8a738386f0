"""The per-sample loss weight lambda(sigma_i) of consistency training."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["ict_weighting", "uniform_weighting"]


def ict_weighting(sigmas: Tensor) -> Tensor:
    r"""iCT's weighting (Song & Dhariwal 2023, `Improved Techniques for Training Consistency
    Models <https://arxiv.org/abs/2310.14189>`_, Sec. 3.1):

    .. math::
        \lambda(\sigma_i) = \frac{1}{\sigma_{i+1} - \sigma_i},\qquad i = 1, \dots, N - 1.

    Args:
        sigmas: ``(N,)`` ascending noise levels.

    Returns:
        ``(N - 1,)`` float64; entry ``i`` weighs the pair (``sigmas[i]``, ``sigmas[i + 1]``).
    """
    gaps = sigmas[1:].to(torch.float64) - sigmas[:-1].to(torch.float64)
    if sigmas.dim() != 1 or gaps.numel() == 0 or not bool((gaps > 0).all()):
        raise InputError("sigmas must be a strictly ascending 1-D grid of at least 2 levels")
    return 1.0 / gaps


def uniform_weighting(sigmas: Tensor) -> Tensor:
    r""":math:`\lambda(\sigma_i) = 1`, the original consistency training's (Song et al. 2023,
    `Consistency Models <https://arxiv.org/abs/2303.01469>`_, App. C)."""
    if sigmas.dim() != 1 or sigmas.shape[0] < 2:
        raise InputError("sigmas must be a 1-D grid of at least 2 levels")
    return torch.ones(sigmas.shape[0] - 1, dtype=torch.float64)
