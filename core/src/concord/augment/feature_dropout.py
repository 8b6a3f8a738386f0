"""Element-wise dropout of features."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.augment.base import Augmentation, random_uniform
from concord.augment.feature_input import check_features
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability

__all__ = ["FeatureDropout"]


class FeatureDropout(Augmentation):
    r"""Zero each feature independently with probability :math:`p`; with ``rescale`` the kept
    ones are divided by :math:`1 - p` (inverted dropout, expectation preserved): dropout
    (Srivastava et al. 2014, https://jmlr.org/papers/v15/srivastava14a.html) used as an
    augmentation of features.

    Args:
        p: drop probability in [0, 1) (default: ``0.1``).
        rescale: divide kept features by :math:`1 - p` (default: ``False``).

    Shapes:
        x: ``(N, *)``.
    """

    registry_name = "feature_dropout"

    def __init__(self, *, p: float = 0.1, rescale: bool = False) -> None:
        self.p = check_probability("p", p)
        self.rescale = bool(rescale)

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        x = check_features(x)
        keep = (random_uniform(tuple(x.shape), generator, x.device) >= self.p).to(x.dtype)
        out = x * keep
        return out / (1 - self.p) if self.rescale else out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        x = torch.randn(4, 10, generator=generator)
        return [
            AugmentationExample(init={"p": 0.3}, input=x),
            AugmentationExample(init={"p": 0.3, "rescale": True}, input=x),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [BadInput({"p": 1.5}, None, "p must")]
