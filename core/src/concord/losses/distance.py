"""Base class of the per-sample consistency distances (pseudo-Huber, Cauchy, L2).

Each compares two batches sample by sample over the *whole* sample vector (a flattened image,
latent or embedding), applies a robust function of the squared distance, and averages over the
batch, optionally weighted per sample (e.g. iCT's :math:`\\lambda(\\sigma_i)`).
"""

from __future__ import annotations

import math
from abc import abstractmethod

import torch
from torch import Tensor

from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.validation import check_embeddings, check_finite, check_positive

__all__ = ["SampleDistance", "ict_c"]


def ict_c(d: int) -> float:
    """The iCT choice of the robustness constant, :math:`c = 0.00054 \\sqrt{d}` (Song & Dhariwal
    2023, Sec. 3.3), for samples of ``d`` numbers."""
    return 0.00054 * math.sqrt(d)


class SampleDistance(Loss):
    """Batch mean (optionally weighted) of ``rho(||x_i - y_i||^2, d)``; subclasses define rho."""

    invariances = ("permutation",)
    half_precision = ("bf16", "fp16")

    def __init__(self) -> None:
        super().__init__()

    @abstractmethod
    def rho(self, squared: Tensor, d: int) -> Tensor:
        """Per-sample loss from per-sample squared L2 distances (float32) and dimension ``d``."""

    def per_sample(self, diff: Tensor, d: int) -> Tensor:
        """Per-sample loss ``(N,)`` from the differences ``diff = x - y`` flattened to ``(N, d)``
        (float32): ``rho`` of the squared L2 norm of each row. A distance that is not a function
        of that norm (e.g. one applied to each element) overrides this public hook."""
        return self.rho(diff.pow(2).sum(dim=1), d)

    def forward(self, x: Tensor, y: Tensor, weight: Tensor | None = None) -> Tensor:
        check_embeddings("x", x, ndim=tuple(range(1, 9)))
        check_embeddings("y", y, ndim=tuple(range(1, 9)))
        if x.shape != y.shape:
            raise InputError(f"x and y shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
        n = int(x.shape[0])
        d = int(x[0].numel()) if x.dim() > 1 else 1
        diff = (x.float() - y.float()).reshape(n, -1)
        per_sample = self.per_sample(diff, d)
        if weight is None:
            return per_sample.mean()
        if not isinstance(weight, Tensor) or weight.shape != (n,):
            shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
            raise InputError(f"weight must have shape ({n},), got {shape}")
        check_finite("weight", weight)
        if bool((weight < 0).any()):
            raise InputError("weight must be non-negative")
        return (per_sample * weight.float()).mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        x = torch.randn(4, 3, 5, 5, generator=generator)
        y = x + 0.1 * torch.randn(4, 3, 5, 5, generator=generator)
        w = torch.rand(4, generator=generator)
        return [
            LossExample(init={}, args=(x, y)),
            LossExample(init={}, args=(x[:, 0, 0], y[:, 0, 0], w), batch_args=(0, 1, 2),
                        grad_args=(0, 1)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        x = torch.randn(4, 6, generator=generator)
        return [
            BadInput({}, (x, x[:, :5]), "shapes differ"),
            BadInput({}, (x, x, torch.ones(3)), "weight must have shape"),
            BadInput({}, (x, x, -torch.ones(4)), "non-negative"),
        ]


def optional_c(c: float | None) -> float | None:
    return None if c is None else check_positive("c", c)
