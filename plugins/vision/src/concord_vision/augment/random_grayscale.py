"""``vision.random_grayscale``: replace the colours by their luma."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import torch

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_choice, check_probability
from concord_vision.augment.color_jitter import gray
from concord_vision.augment.view import as_rgb, check_view, replaced, uniform

__all__ = ["RandomGrayscale"]


class RandomGrayscale(Augmentation):
    r"""With probability ``prob`` every channel becomes :math:`0.299 R + 0.587 G + 0.114 B`
    (BYOL, Grill et al. 2020, https://arxiv.org/abs/2006.07733, Table 6, which PixPro uses:
    ``p = 0.2`` on both views).

    Args:
        prob: probability (default: ``0.2``).
        channel_order: ``"bgr"`` or ``"rgb"`` (default: ``"bgr"``).
    """

    registry_name = "vision.random_grayscale"

    def __init__(self, *, prob: float = 0.2, channel_order: Literal["bgr", "rgb"] = "bgr") -> None:
        super().__init__()
        self.prob = check_probability("prob", prob, upper_inclusive=True)
        self.channel_order = check_choice("channel_order", channel_order, ("bgr", "rgb"))

    def apply(self, x: Mapping[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        img = check_view(x)
        if uniform(generator) >= self.prob:
            return replaced(x)
        rgb = as_rgb(img, self.channel_order)
        luma = np.round(gray(rgb.astype(np.float32))).clip(0, 255).astype(np.uint8)
        return replaced(x, img=np.repeat(luma[..., None], 3, axis=2))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        img = (torch.rand(4, 5, 3, generator=generator) * 255).to(torch.uint8).numpy()

        def luma(inp: Any, out: Any) -> None:
            b, g, r = (inp["img"][..., c].astype(float) for c in range(3))
            expected = np.round(0.299 * r + 0.587 * g + 0.114 * b)
            for c in range(3):
                assert np.abs(out["img"][..., c] - expected).max() <= 1

        return [
            AugmentationExample(init={"prob": 0.5}, input={"img": img}),
            AugmentationExample(init={"prob": 1.0}, input={"img": img}, check=luma, random=False),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [BadInput({"prob": -0.2}, None, "prob")]
