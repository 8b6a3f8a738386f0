"""``vision.random_flip``: a horizontal flip, recorded for the pixel-pair geometry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability
from concord_vision.augment.view import check_view, replaced, uniform

__all__ = ["RandomFlip"]


class RandomFlip(Augmentation):
    r"""Flip the view left-right with probability ``prob`` and record it in ``flip``, so that
    :func:`concord_vision.geometry.bin_centres` maps column :math:`c` of a flipped view to
    :math:`x_1 - (c + \tfrac12) b_w` (the authors' ``RandomHorizontalFlipCoord`` swaps the box's
    x-coordinates instead; the two are the same map; PixPro, Xie et al. 2021,
    https://arxiv.org/abs/2011.10043).

    Args:
        prob: flip probability (default: ``0.5``).
    """

    registry_name = "vision.random_flip"

    def __init__(self, *, prob: float = 0.5) -> None:
        super().__init__()
        self.prob = check_probability("prob", prob, upper_inclusive=True)

    def apply(self, x: Mapping[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        img = check_view(x)
        if uniform(generator) >= self.prob:
            return replaced(x, flip=bool(x.get("flip", False)))
        return replaced(x, img=np.ascontiguousarray(img[:, ::-1]), flip=not bool(x.get("flip", False)))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        img = (torch.rand(6, 7, 3, generator=generator) * 255).to(torch.uint8).numpy()

        def mirrored(inp: Any, out: Any) -> None:
            assert out["flip"] is True and np.array_equal(out["img"], inp["img"][:, ::-1])

        return [
            AugmentationExample(init={"prob": 0.5}, input={"img": img}),
            AugmentationExample(init={"prob": 1.0}, input={"img": img}, check=mirrored, random=False),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [BadInput({"prob": 1.5}, None, "prob")]
