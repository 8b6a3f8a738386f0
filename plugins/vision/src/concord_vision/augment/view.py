"""A view as the augmentations see it: an mmcv-style results dict with an ``img``.

``img`` is an ``(H, W, 3)`` uint8 array in the channel order mmcv loads (BGR by default). The
crop step adds ``crop_box`` -- ``(x0, y0, x1, y1)`` in pixels of the original image, pixel edges --
and the flip step ``flip`` (horizontal); the photometric steps leave both alone. Every step
returns a new dict and never writes into its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from concord.errors import InputError

__all__ = ["as_rgb", "check_view", "replaced", "uniform"]


def check_view(x: Any) -> np.ndarray:
    """The view's image, after checking it is an ``(H, W, 3)`` uint8 array."""
    if not isinstance(x, Mapping) or "img" not in x:
        raise InputError(f"a view is a dict with an 'img' array, got {type(x).__name__}")
    img = x["img"]
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        desc = f"{img.dtype} {img.shape}" if isinstance(img, np.ndarray) else type(img).__name__
        raise InputError(f"'img' must be an (H, W, 3) uint8 array, got {desc}")
    return img


def replaced(x: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """A shallow copy of the view with ``changes`` applied (the input dict is untouched)."""
    out = dict(x)
    out.update(changes)
    return out


def uniform(generator: torch.Generator | None, low: float = 0.0, high: float = 1.0) -> float:
    """One draw from ``U[low, high)`` of ``generator``."""
    return low + (high - low) * float(torch.rand((), generator=generator))


def as_rgb(img: np.ndarray, channel_order: str) -> np.ndarray:
    """The image in RGB order (a view of ``img``, not a copy): BGR is reversed."""
    return img[..., ::-1] if channel_order == "bgr" else img
