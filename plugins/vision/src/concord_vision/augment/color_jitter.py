r"""``vision.color_jitter``: brightness, contrast, saturation and hue jitter in random order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import cv2
import numpy as np
import torch

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_choice, check_positive, check_probability
from concord_vision.augment.view import as_rgb, check_view, replaced, uniform

__all__ = ["ColorJitter", "gray"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601-2, R G B


def gray(rgb: np.ndarray) -> np.ndarray:
    """Luma ``0.299 R + 0.587 G + 0.114 B`` of a float ``(H, W, 3)`` RGB image, ``(H, W)``."""
    return rgb @ _LUMA


class ColorJitter(Augmentation):
    r"""Colour jitter as in BYOL's augmentations (Grill et al. 2020,
    https://arxiv.org/abs/2006.07733, Table 6), which PixPro uses (``--aug BYOL``): with
    probability ``prob``, apply in a random order

    .. math::
        \text{brightness: } x \leftarrow f_b x, \quad
        \text{contrast: } x \leftarrow f_c x + (1 - f_c)\,\overline{\mathrm{gray}(x)}, \quad
        \text{saturation: } x \leftarrow f_s x + (1 - f_s)\,\mathrm{gray}(x), \quad
        \text{hue: } H \leftarrow H + 360^\circ f_h

    with :math:`f_b \sim U[1-b, 1+b]`, :math:`f_c \sim U[1-c, 1+c]`, :math:`f_s \sim U[1-s, 1+s]`,
    :math:`f_h \sim U[-h, h]`, each step clipped to :math:`[0, 1]` (the semantics of
    ``torchvision.transforms.ColorJitter``; written here with numpy and OpenCV).

    Args:
        brightness, contrast, saturation: jitter strengths :math:`b, c, s \ge 0`
            (default: ``0.4, 0.4, 0.2``).
        hue: :math:`h \in [0, 0.5]` (default: ``0.1``).
        prob: probability of jittering at all (default: ``0.8``).
        channel_order: ``"bgr"`` (what mmcv loads) or ``"rgb"`` (default: ``"bgr"``).
    """

    registry_name = "vision.color_jitter"

    def __init__(
        self,
        *,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.2,
        hue: float = 0.1,
        prob: float = 0.8,
        channel_order: Literal["bgr", "rgb"] = "bgr",
    ) -> None:
        super().__init__()
        self.brightness = check_positive("brightness", brightness, allow_zero=True)
        self.contrast = check_positive("contrast", contrast, allow_zero=True)
        self.saturation = check_positive("saturation", saturation, allow_zero=True)
        self.hue = check_positive("hue", hue, allow_zero=True)
        if self.hue > 0.5:
            raise InputError(f"hue must lie in [0, 0.5], got {hue!r}")
        self.prob = check_probability("prob", prob, upper_inclusive=True)
        self.channel_order = check_choice("channel_order", channel_order, ("bgr", "rgb"))

    def apply(self, x: Mapping[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        img = check_view(x)
        if uniform(generator) >= self.prob:
            return replaced(x)
        rgb = as_rgb(img, self.channel_order)
        out = rgb.astype(np.float32) / 255.0
        for step in torch.randperm(4, generator=generator).tolist():
            if step == 0 and self.brightness > 0:
                f = uniform(generator, max(0.0, 1 - self.brightness), 1 + self.brightness)
                out = np.clip(out * f, 0.0, 1.0)
            elif step == 1 and self.contrast > 0:
                f = uniform(generator, max(0.0, 1 - self.contrast), 1 + self.contrast)
                out = np.clip(out * f + (1 - f) * float(gray(out).mean()), 0.0, 1.0)
            elif step == 2 and self.saturation > 0:
                f = uniform(generator, max(0.0, 1 - self.saturation), 1 + self.saturation)
                out = np.clip(out * f + (1 - f) * gray(out)[..., None], 0.0, 1.0)
            elif step == 3 and self.hue > 0:
                f = uniform(generator, -self.hue, self.hue)
                hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)  # H in [0, 360) for float input
                hsv[..., 0] = np.mod(hsv[..., 0] + 360.0 * f, 360.0)
                out = np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0.0, 1.0)
        out8 = np.round(out * 255.0).astype(np.uint8)
        if self.channel_order == "bgr":
            out8 = out8[..., ::-1]
        return replaced(x, img=np.ascontiguousarray(out8))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        img = (torch.rand(8, 9, 3, generator=generator) * 255).to(torch.uint8).numpy()
        flat = np.full((5, 5, 3), 77, dtype=np.uint8)

        def gray_stays_gray(inp: Any, out: Any) -> None:
            # a gray image has no saturation or hue: brightness / contrast keep R = G = B
            o = out["img"].astype(int)
            assert np.abs(o[..., 0] - o[..., 1]).max() <= 1 and np.abs(o[..., 1] - o[..., 2]).max() <= 1

        return [
            AugmentationExample(init={"prob": 1.0}, input={"img": img}),
            AugmentationExample(init={"prob": 1.0, "hue": 0.5}, input={"img": flat},
                                check=gray_stays_gray),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"hue": 0.7}, None, r"hue must lie in \[0, 0.5\]"),
            BadInput({"brightness": -0.1}, None, "brightness"),
            BadInput({"channel_order": "hsv"}, None, "channel_order"),
        ]
