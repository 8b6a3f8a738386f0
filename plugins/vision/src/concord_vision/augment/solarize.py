"""``vision.solarize``: invert the bright pixels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_probability
from concord_vision.augment.view import check_view, replaced, uniform

__all__ = ["Solarize"]


class Solarize(Augmentation):
    r"""With probability ``prob``, :math:`v \leftarrow 255 - v` for every channel value
    :math:`v \ge t` (PIL's ``ImageOps.solarize``, :math:`t = 128`). BYOL's (Grill et al. 2020,
    https://arxiv.org/abs/2006.07733, Table 6) asymmetric
    probabilities, which PixPro uses: 0 on the first view, 0.2 on the second.

    Args:
        threshold: :math:`t` in ``[0, 256]`` (default: ``128``).
        prob: probability (default: ``0.2``).
    """

    registry_name = "vision.solarize"

    def __init__(self, *, threshold: int = 128, prob: float = 0.2) -> None:
        super().__init__()
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 256:
            raise InputError(f"threshold must be an integer in [0, 256], got {threshold!r}")
        self.threshold = threshold
        self.prob = check_probability("prob", prob, upper_inclusive=True)

    def apply(self, x: Mapping[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        img = check_view(x)
        if uniform(generator) >= self.prob:
            return replaced(x)
        return replaced(x, img=np.where(img >= self.threshold, 255 - img, img).astype(np.uint8))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        img = (torch.rand(4, 4, 3, generator=generator) * 255).to(torch.uint8).numpy()

        def inverted(inp: Any, out: Any) -> None:
            for v_in, v_out in zip(inp["img"].ravel().tolist(), out["img"].ravel().tolist()):
                assert v_out == (255 - v_in if v_in >= 128 else v_in)

        return [
            AugmentationExample(init={"prob": 0.5}, input={"img": img}),
            AugmentationExample(init={"prob": 1.0}, input={"img": img}, check=inverted, random=False),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [BadInput({"threshold": 300}, None, "threshold")]
