"""Cauchy (Lorentzian) distance (sLCT)."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.contract import BadInput
from concord.losses.distance import SampleDistance, ict_c, optional_c

__all__ = ["Cauchy"]


class Cauchy(SampleDistance):
    r"""Cauchy loss over the whole sample vector, proposed for latent consistency training
    because latents carry impulsive outliers (Dao et al. 2025, `Improved Training Technique for
    Latent Consistency Models <https://arxiv.org/abs/2502.01441>`_, Sec. 4.1); the form is the
    :math:`\alpha = 0` member of Barron's robust family (Barron 2019, Eq. 1):

    .. math::
        d(x, y) = \log\left(1 + \frac{\lVert x - y \rVert_2^2}{2 c^2}\right)

    Quadratic (:math:`\lVert x - y \rVert^2 / 2c^2`) near zero, logarithmic for large residuals,
    so a few outlier samples cannot dominate the gradient.

    Args:
        c: scale :math:`c > 0` (default: ``None``: :math:`0.00054\sqrt{d}`, the same
            dimension-aware rule iCT uses for pseudo-Huber).

    Shapes:
        x, y: ``(N, *)``; weight: ``(N,)``. Output: scalar.
    """

    registry_name = "cauchy"

    def __init__(self, *, c: float | None = None) -> None:
        super().__init__()
        self.c = optional_c(c)

    def rho(self, squared: Tensor, d: int) -> Tensor:
        c = self.c if self.c is not None else ict_c(d)
        return torch.log1p(squared / (2 * c * c))

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [*super().bad_inputs(generator), BadInput({"c": -1.0}, None, "c must be")]
