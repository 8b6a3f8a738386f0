"""A data set of images held in memory as uint8, and how the model sees it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from concord.errors import DataError

__all__ = ["ImageSet", "to_model_range"]


def to_model_range(images: Tensor) -> Tensor:
    """uint8 ``[0, 255]`` to float32 ``[-1, 1]`` (diffusers' convention, ``2 x / 255 - 1``)."""
    return images.to(torch.float32) / 127.5 - 1.0


@dataclass
class ImageSet:
    """``images``: ``(N, C, H, W)`` uint8; ``labels``: ``(N,)`` int64 or ``None``; ``source``: where
    they were read (for error messages)."""

    images: Tensor
    labels: Tensor | None
    source: str

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise DataError(f"{self.source}: images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.images.shape[0] == 0:
            raise DataError(f"{self.source}: no images")
        if self.labels is not None and self.labels.shape != (self.images.shape[0],):
            raise DataError(f"{self.source}: {self.labels.shape[0]} labels for {self.images.shape[0]} images")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[3])

    def padded(self, size: int | None) -> ImageSet:
        """Zero-padded (black) on every side to ``size x size``, centred (28 -> 32: 2 pixels each
        side). ``None`` keeps the size. Larger images are refused, never cropped."""
        if size is None:
            return self
        h, w = self.size
        if h > size or w > size:
            raise DataError(f"{self.source}: images of {h}x{w} do not fit data.pad_to={size} (no cropping)")
        top, left = (size - h) // 2, (size - w) // 2
        pad = (left, size - w - left, top, size - h - top)
        return ImageSet(torch.nn.functional.pad(self.images, pad, value=0), self.labels, self.source)
