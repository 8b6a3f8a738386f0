"""PNG grids of image batches."""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["save_grid", "to_uint8"]


def to_uint8(images: Tensor) -> Tensor:
    """``[-1, 1]`` float images to uint8 ``[0, 255]`` (the pipeline's ``(x / 2 + 0.5).clamp(0, 1)``)."""
    return ((images.detach().float().cpu() / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)


def save_grid(images: Tensor, path: str | Path, *, nrow: int | None = None, padding: int = 2) -> Path:
    """Tile ``(N, C, H, W)`` images in ``[-1, 1]`` (C = 1 or 3) into one PNG, written atomically.

    Args:
        images: the batch.
        path: the PNG file.
        nrow: images per row (default: ``ceil(sqrt(N))``).
        padding: pixels between tiles (default: ``2``).
    """
    from PIL import Image

    from concord.run import atomic_write_bytes

    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise InputError(f"images must be (N, 1 or 3, H, W), got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + padding) + padding, nrow * (w + padding) + padding, dtype=torch.uint8)
    tiles = to_uint8(images)
    for i in range(n):
        r, q = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, y : y + h, x : x + w] = tiles[i]
    array = grid.permute(1, 2, 0).numpy()
    img = Image.fromarray(array[:, :, 0], mode="L") if c == 1 else Image.fromarray(array, mode="RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path
