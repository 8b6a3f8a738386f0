"""``vision.gaussian_blur``: Gaussian blur with a random standard deviation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import torch

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability
from concord_vision.augment.random_resized_crop import _pair
from concord_vision.augment.view import check_view, replaced, uniform

__all__ = ["GaussianBlur"]


class GaussianBlur(Augmentation):
    r"""With probability ``prob``, blur with a Gaussian of standard deviation
    :math:`\sigma \sim U[\sigma_0, \sigma_1]`:

    .. math::
        G_\sigma(u, v) \propto e^{-(u^2 + v^2) / 2\sigma^2}

    (kernel truncated by OpenCV at about :math:`3\sigma`, borders reflected). BYOL's (Grill et al.
    2020, https://arxiv.org/abs/2006.07733, Table 6) asymmetric
    probabilities, which PixPro uses: 1.0 on the first view, 0.1 on the second. The authors blur
    with PIL's ``GaussianBlur(radius=sigma)``, :math:`\sigma \in [0.1, 2.0]` at 224 px; at another
    crop size scale the range with it (the shipped CamVid configs do).

    Args:
        sigma: :math:`(\sigma_0, \sigma_1)` in output pixels (default: ``(0.1, 2.0)``).
        prob: probability (default: ``0.5``).
    """

    registry_name = "vision.gaussian_blur"

    def __init__(self, *, sigma: tuple[float, float] = (0.1, 2.0), prob: float = 0.5) -> None:
        super().__init__()
        self.sigma = _pair("sigma", sigma)
        self.prob = check_probability("prob", prob, upper_inclusive=True)

    def apply(self, x: Mapping[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        img = check_view(x)
        if uniform(generator) >= self.prob:
            return replaced(x)
        s = uniform(generator, *self.sigma)
        out = cv2.GaussianBlur(img, (0, 0), sigmaX=s, sigmaY=s, borderType=cv2.BORDER_REFLECT_101)
        return replaced(x, img=np.ascontiguousarray(out))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        img = (torch.rand(12, 12, 3, generator=generator) * 255).to(torch.uint8).numpy()

        def smoother(inp: Any, out: Any) -> None:
            rough = lambda a: np.abs(np.diff(a.astype(float), axis=1)).mean()  # noqa: E731
            assert rough(out["img"]) < rough(inp["img"])

        return [
            AugmentationExample(init={"prob": 1.0, "sigma": (0.5, 2.0)}, input={"img": img},
                                check=smoother),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [BadInput({"sigma": (0.0, 1.0)}, None, "sigma"), BadInput({"prob": 2.0}, None, "prob")]
