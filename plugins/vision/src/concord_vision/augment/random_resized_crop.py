r"""``vision.random_resized_crop``: a random crop, resized, with its box in image coordinates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
import torch

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord_vision.augment.view import check_view, replaced, uniform

__all__ = ["RandomResizedCrop"]


def _pair(name: str, value: Any, *, positive: bool = True) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"{name} must be a number or a pair (low, high), got {value!r}")
    lo, hi = (float(v) for v in value)
    if lo > hi or (positive and lo <= 0):
        raise InputError(f"{name} must satisfy 0 < low <= high, got {value!r}")
    return lo, hi


class RandomResizedCrop(Augmentation):
    r"""Random resized crop (Szegedy et al. 2015; the form every SSL method uses) that records the
    crop box for PixPro's pixel pairs (Xie et al. 2021, https://arxiv.org/abs/2011.10043,
    Sec. 3.1).

    Area fraction :math:`s \sim U[s_0, s_1]` and aspect ratio :math:`r` log-uniform in
    :math:`[r_0, r_1]` give a box of width :math:`\mathrm{round}(\sqrt{s A r})` and height
    :math:`\mathrm{round}(\sqrt{s A / r})`, placed uniformly; up to 10 draws, then the central
    crop of the clamped ratio (the rule of ``torchvision.transforms.RandomResizedCrop`` and of
    the authors' ``RandomResizedCropCoord``). The crop is resized bilinearly to ``size`` and
    ``crop_box = (x0, y0, x0 + w, y0 + h)`` is stored in pixels of the input image.

    Args:
        size: output ``(height, width)`` or one side (default: ``224``).
        scale: :math:`(s_0, s_1)`, within ``(0, 1]`` (default: ``(0.08, 1.0)``; PixPro's ``--crop``).
        ratio: :math:`(r_0, r_1)` (default: ``(3/4, 4/3)``).
        allow_upscale: accept images smaller than ``size`` (default: ``False``: an image smaller
            than the output is refused rather than silently enlarged).
    """

    registry_name = "vision.random_resized_crop"

    def __init__(
        self,
        *,
        size: int | tuple[int, int] = 224,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        allow_upscale: bool = False,
    ) -> None:
        super().__init__()
        hw = (size, size) if isinstance(size, int) and not isinstance(size, bool) else size
        if not isinstance(hw, (list, tuple)) or len(hw) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in hw
        ):
            raise InputError(f"size must be an integer >= 1 or a pair (height, width), got {size!r}")
        self.size = size if isinstance(size, int) else tuple(int(v) for v in size)
        self._hw = (int(hw[0]), int(hw[1]))
        lo, hi = _pair("scale", scale)
        if hi > 1:
            raise InputError(f"scale must lie in (0, 1] (a fraction of the image area), got {scale!r}")
        self.scale = (lo, hi)
        self.ratio = _pair("ratio", ratio)
        self.allow_upscale = bool(allow_upscale)

    def box(self, height: int, width: int, generator: torch.Generator | None) -> tuple[int, int, int, int]:
        """Draw ``(x0, y0, w, h)`` for an image of ``height x width``."""
        area = height * width
        log_lo, log_hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        for _ in range(10):
            target = uniform(generator, *self.scale) * area
            aspect = math.exp(uniform(generator, log_lo, log_hi))
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                y0 = int(torch.randint(0, height - h + 1, (), generator=generator))
                x0 = int(torch.randint(0, width - w + 1, (), generator=generator))
                return x0, y0, w, h
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            w, h = width, round(width / self.ratio[0])
        elif in_ratio > self.ratio[1]:
            h, w = height, round(height * self.ratio[1])
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def apply(self, x: Mapping[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        img = check_view(x)
        if "crop_box" in x or x.get("flip"):
            raise InputError("this view is already cropped or flipped; crop the original image first")
        height, width = img.shape[:2]
        out_h, out_w = self._hw
        if not self.allow_upscale and (height < out_h or width < out_w):
            raise InputError(
                f"image of {height}x{width} (HxW) is smaller than the {out_h}x{out_w} output; "
                "choose a smaller size or pass allow_upscale=True"
            )
        x0, y0, w, h = self.box(height, width, generator)
        patch = img[y0 : y0 + h, x0 : x0 + w]
        resized = cv2.resize(patch, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        box = np.array([x0, y0, x0 + w, y0 + h], dtype=np.float64)
        return replaced(x, img=resized, crop_box=box, flip=False, img_shape=(out_h, out_w),
                        ori_shape=(height, width))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        img = (torch.rand(36, 48, 3, generator=generator) * 255).to(torch.uint8).numpy()

        def box_inside(inp: Any, out: Any) -> None:
            x0, y0, x1, y1 = out["crop_box"]
            assert 0 <= x0 < x1 <= 48 and 0 <= y0 < y1 <= 36, out["crop_box"]
            assert out["img"].shape == (16, 20, 3)

        return [
            AugmentationExample(init={"size": (16, 20), "scale": (0.2, 1.0)}, input={"img": img},
                                check=box_inside),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        img = np.zeros((10, 12, 3), dtype=np.uint8)
        return [
            BadInput({"scale": (0.0, 1.0)}, None, r"0 < low"),
            BadInput({"scale": (0.5, 1.5)}, None, r"scale must lie in \(0, 1\]"),
            BadInput({"scale": (0.8, 0.2)}, None, r"low <= high"),
            BadInput({"size": 16}, ({"img": img},), "smaller than the 16x16 output"),
            BadInput({"size": 8}, ({"img": img[..., 0]},), r"\(H, W, 3\) uint8"),
        ]
