"""Images from ``.npy`` arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch

from concord.errors import DataError
from concord_diffusion.data.image_set import ImageSet

__all__ = ["array_to_images", "read_npy"]

_CHANNELS = (1, 3, 4)


def array_to_images(array: np.ndarray, *, layout: Literal["auto", "nchw", "nhwc"] = "auto", source: str = "array") -> torch.Tensor:
    """``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` uint8 (or float in ``[0, 1]``) to a uint8
    ``(N, C, H, W)`` tensor. With ``layout="auto"`` a 4-D array whose axis 1 and axis 3 could
    both be channels is refused (name the layout); floats outside ``[0, 1]`` are refused."""
    a = np.asarray(array)
    if a.ndim == 3:
        a = a[:, None]
    elif a.ndim == 4:
        if layout == "auto":
            first, last = a.shape[1] in _CHANNELS, a.shape[3] in _CHANNELS
            if first and last:
                raise DataError(f"{source}: shape {a.shape} could be NCHW or NHWC; set data.layout")
            if not first and not last:
                raise DataError(f"{source}: shape {a.shape} has no channel axis of 1, 3 or 4 (axis 1 or 3)")
            layout = "nchw" if first else "nhwc"
        if layout == "nhwc":
            a = a.transpose(0, 3, 1, 2)
        elif layout != "nchw":
            raise DataError(f"data.layout must be auto, nchw or nhwc, got {layout!r}")
    else:
        raise DataError(f"{source}: images must be a 3-D or 4-D array, got shape {a.shape}")
    if a.dtype == np.uint8:
        out = a
    elif np.issubdtype(a.dtype, np.floating):
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        if np.isnan(a).any() or lo < 0 or hi > 1:
            raise DataError(f"{source}: float images must lie in [0, 1], found values in [{lo}, {hi}]")
        out = np.round(a * 255).astype(np.uint8)
    else:
        raise DataError(f"{source}: images must be uint8 or float in [0, 1], got dtype {a.dtype}")
    return torch.from_numpy(np.ascontiguousarray(out))


def read_npy(images: str | Path, labels: str | Path | None = None, *,
             layout: Literal["auto", "nchw", "nhwc"] = "auto") -> ImageSet:
    """An :class:`ImageSet` from an ``.npy`` image array and, optionally, an ``.npy`` of integer
    labels (``allow_pickle=False``: an ``.npy`` never runs code)."""
    path = Path(images)
    if not path.is_file():
        raise DataError(f"{str(path)!r} does not exist")
    array = np.load(path, allow_pickle=False)
    y = None
    if labels is not None:
        lab = np.load(Path(labels), allow_pickle=False)
        if lab.ndim != 1 or not np.issubdtype(lab.dtype, np.integer):
            raise DataError(f"{str(labels)!r}: labels must be a 1-D integer array, got {lab.dtype} {lab.shape}")
        y = torch.from_numpy(lab.astype(np.int64))
    return ImageSet(array_to_images(array, layout=layout, source=str(path)), y, str(path))
