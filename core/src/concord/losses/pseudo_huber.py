"""Pseudo-Huber distance (iCT)."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.contract import BadInput
from concord.losses.distance import SampleDistance, ict_c, optional_c

__all__ = ["PseudoHuber"]


class PseudoHuber(SampleDistance):
    r"""Pseudo-Huber metric of improved consistency training (Song & Dhariwal 2023, `Improved
    Techniques for Training Consistency Models <https://arxiv.org/abs/2310.14189>`_, Sec. 3.3):

    .. math::
        d(x, y) = \sqrt{\lVert x - y \rVert_2^2 + c^2} - c

    over the whole sample vector -- not per element: it behaves like the squared L2 distance
    :math:`\lVert x - y \rVert^2 / 2c` for small differences and like the L2 norm for large ones.

    Args:
        c: :math:`c > 0` (default: ``None``: iCT's :math:`0.00054\sqrt{d}` for samples of
            :math:`d` numbers, e.g. 0.03 for CIFAR-10's 3x32x32).

    Shapes:
        x, y: ``(N, *)``; weight: ``(N,)``. Output: scalar (weighted batch mean).
    """

    registry_name = "pseudo_huber"

    def __init__(self, *, c: float | None = None) -> None:
        super().__init__()
        self.c = optional_c(c)

    def rho(self, squared: Tensor, d: int) -> Tensor:
        c = self.c if self.c is not None else ict_c(d)
        # sqrt(s + c^2) - c written as s / (sqrt(s + c^2) + c): the same value without the
        # cancellation that loses every digit in float32 once s << c^2 (near convergence).
        return squared / (torch.sqrt(squared + c * c) + c)

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [*super().bad_inputs(generator), BadInput({"c": 0.0}, None, "c must be")]
