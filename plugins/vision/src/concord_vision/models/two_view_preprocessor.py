"""Data preprocessor of the two-view pretraining models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from mmengine.model import BaseDataPreprocessor

from concord.errors import ConfigError, InputError

__all__ = ["TwoViewPreprocessor"]


class TwoViewPreprocessor(BaseDataPreprocessor):
    r"""Stack, convert and normalise the two views packed by
    :class:`concord_vision.transforms.PackTwoViews`:

    .. math::
        x \leftarrow (x_{\mathrm{rgb}} - \mu) / \sigma

    Args:
        mean, std: per-channel statistics in 0..255 units, RGB order
            (default: ImageNet's, the authors' ``Normalize``).
        bgr_to_rgb: reverse the channels first (mmcv loads BGR; default: ``True``).

    Returns ``{'inputs': (B, 2, 3, H, W) float, 'data_samples': list}`` (shapes of one batch).
    """

    def __init__(
        self,
        mean: Sequence[float] = (123.675, 116.28, 103.53),
        std: Sequence[float] = (58.395, 57.12, 57.375),
        bgr_to_rgb: bool = True,
        non_blocking: bool = False,
    ) -> None:
        super().__init__(non_blocking)
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ConfigError(f"mean and std need 3 values each (std > 0), got {mean}, {std}")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 1, 3, 1, 1), False)
        self.bgr_to_rgb = bool(bgr_to_rgb)

    def forward(self, data: dict, training: bool = False) -> dict[str, Any]:
        data = self.cast_data(data)
        inputs = data["inputs"]
        x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
        if x.dim() != 5 or x.shape[1] != 2 or x.shape[2] != 3:
            raise InputError(f"expected two views per image, (B, 2, 3, H, W); got {tuple(x.shape)}")
        x = x.float()
        if self.bgr_to_rgb:
            x = x.flip(2)
        return {"inputs": (x - self.mean) / self.std, "data_samples": data.get("data_samples")}
