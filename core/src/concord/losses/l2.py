"""(Squared) L2 distance."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.losses.distance import SampleDistance

__all__ = ["L2"]


class L2(SampleDistance):
    r"""Per-sample L2 distance over the whole sample vector, the metric of the original
    consistency models (Song et al. 2023, `Consistency Models <https://arxiv.org/abs/2303.01469>`_,
    Sec. 3, :math:`d(x, y) = \lVert x - y \rVert_2^2`):

    .. math::
        d(x, y) = \lVert x - y \rVert_2^2 \ \text{(squared)} \quad\text{or}\quad
        \lVert x - y \rVert_2, \qquad \text{optionally divided by } d \text{ (``mean``)}

    Args:
        squared: squared distance (default: ``True``).
        mean: divide by the number of elements per sample, i.e. per-element MSE when squared
            (default: ``False``).

    Shapes:
        x, y: ``(N, *)``; weight: ``(N,)``. Output: scalar.
    """

    registry_name = "l2"

    def __init__(self, *, squared: bool = True, mean: bool = False) -> None:
        super().__init__()
        self.squared = bool(squared)
        self.mean = bool(mean)

    def rho(self, squared: Tensor, d: int) -> Tensor:
        if self.squared:
            out = squared
        else:
            # sqrt has an infinite derivative at 0; the subgradient 0 is used there.
            out = torch.where(squared > 0, squared.clamp_min(1e-30).sqrt(), torch.zeros_like(squared))
        return out / d if self.mean else out
