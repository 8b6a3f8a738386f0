"""Additive Gaussian noise in feature space."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.augment.base import Augmentation
from concord.augment.feature_input import check_features
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_positive

__all__ = ["GaussianNoise"]


class GaussianNoise(Augmentation):
    r""":math:`\tilde{x} = x + \epsilon,\ \epsilon \sim \mathcal{N}(0, \sigma^2 I)`.

    Not a published method: additive isotropic noise, the generic feature-space perturbation.

    Args:
        std: :math:`\sigma > 0` (default: ``0.1``).

    Shapes:
        x: ``(N, *)`` floating point; output: same shape and dtype.
    """

    registry_name = "gaussian_noise"

    def __init__(self, *, std: float = 0.1) -> None:
        self.std = check_positive("std", std)

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        x = check_features(x)
        gen_device = generator.device if generator is not None else torch.device("cpu")
        noise = torch.randn(x.shape, generator=generator, device=gen_device).to(x.device, x.dtype)
        return x + self.std * noise

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        x = torch.randn(5, 4, generator=generator)

        def same_shape(a: Tensor, b: Tensor) -> None:
            assert a.shape == b.shape and a.dtype == b.dtype

        return [AugmentationExample(init={"std": 0.5}, input=x, check=same_shape)]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"std": 0.0}, None, "std"),
            BadInput({}, (torch.ones(3),), "2-D"),
            BadInput({}, (torch.tensor([[float("nan")]]),), "NaN"),
        ]
