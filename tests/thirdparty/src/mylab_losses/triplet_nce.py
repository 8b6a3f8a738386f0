"""A smooth hardest-negative triplet loss on two views, written the way a third party would.

For L2-normalised views :math:`u_i, v_i` and cosine similarities :math:`s_{ij} = u_i^\\top v_j`,

.. math::
    \\ell_i = \\tau \\log\\left(1 + \\exp\\left(\\frac{\\max_{j \\ne i} s_{ij} - s_{ii} + m}{\\tau}\\right)\\right),
    \\qquad \\mathcal{L} = \\frac{1}{N} \\sum_i \\ell_i

(a softplus of the margin violation by the hardest in-batch negative, Hermans et al. 2017's
batch-hard triplet with a soft margin). It takes no ``gather`` option, so it trains on one
process only; a concord CLI under ``torchrun`` refuses it with a clear message.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor
from torch.nn import functional as F

from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.validation import check_embeddings, check_positive, check_same_rows

__all__ = ["TripletNCE"]


class TripletNCE(Loss):
    """Args:
        temperature: softness :math:`\\tau` of the margin (default: ``0.1``).
        margin: :math:`m` (default: ``0.2``).
    """

    registry_name = "mylab.triplet_nce"
    invariances: ClassVar[tuple[str, ...]] = ("permutation", "scale")
    #: how many times any instance ran forward (lets the tests see the CLI really used it)
    calls: ClassVar[int] = 0

    def __init__(self, *, temperature: float = 0.1, margin: float = 0.2) -> None:
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.margin = check_positive("margin", margin, allow_zero=True)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        check_embeddings("z1", z1, min_rows=2)
        check_embeddings("z2", z2, min_rows=2)
        check_same_rows(z1=z1, z2=z2)
        if z1.shape[1] != z2.shape[1]:
            raise InputError(f"z1 and z2 must have the same width, got {z1.shape[1]} and {z2.shape[1]}")
        type(self).calls += 1
        u, v = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
        s = u @ v.T
        pos = s.diagonal()
        off = s.masked_fill(torch.eye(len(s), dtype=torch.bool, device=s.device), float("-inf"))
        hardest = off.max(dim=1).values
        return (self.temperature * F.softplus((hardest - pos + self.margin) / self.temperature)).mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z1 = torch.randn(6, 4, generator=generator)
        z2 = z1 + 0.3 * torch.randn(6, 4, generator=generator)
        return [LossExample(init={}, args=(z1, z2)),
                LossExample(init={"temperature": 0.5, "margin": 0.0}, args=(z1, z2))]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({}, (z, z[:3]), "batch sizes differ"),
            BadInput({}, (z, torch.randn(4, 5, generator=generator)), "same width"),
        ]
