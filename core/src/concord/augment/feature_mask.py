"""Masking whole feature dimensions (GRACE's feature masking, in any feature space)."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.augment.base import Augmentation, random_uniform
from concord.augment.feature_input import check_features
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability

__all__ = ["FeatureMask"]


class FeatureMask(Augmentation):
    r"""Zero a random subset of feature *dimensions*, the same subset for every row (Zhu et al.
    2020, `Deep Graph Contrastive Representation Learning <https://arxiv.org/abs/2006.04131>`_,
    Sec. 3.2: :math:`\tilde{X} = [x_1 \circ m; \ldots; x_N \circ m]`, :math:`m_j \sim
    \mathrm{Bernoulli}(1 - p)`).

    Args:
        p: probability that a dimension is masked, in [0, 1) (default: ``0.2``).

    Shapes:
        x: ``(N, D)`` (or ``(N, ..., D)``: the mask runs over the last dimension).
    """

    registry_name = "feature_mask"

    def __init__(self, *, p: float = 0.2) -> None:
        self.p = check_probability("p", p)

    def apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        x = check_features(x)
        keep = random_uniform((x.shape[-1],), generator, x.device) >= self.p
        return x * keep.to(x.dtype)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        x = torch.randn(6, 12, generator=generator)

        def columns_zeroed_or_kept(a: Tensor, b: Tensor) -> None:
            kept = (b == a).all(dim=0)
            zeroed = (b == 0).all(dim=0)
            assert bool((kept | zeroed).all()), "every column is either kept or zeroed whole"

        return [AugmentationExample(init={"p": 0.5}, input=x, check=columns_zeroed_or_kept)]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [BadInput({"p": 1.0}, None, r"\[0, 1\)"), BadInput({"p": -0.1}, None, "p must")]
