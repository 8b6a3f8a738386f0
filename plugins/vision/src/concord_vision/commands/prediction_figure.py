"""A PNG of predicted masks next to the ground truth."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from concord.errors import InputError

__all__ = ["colorize", "prediction_figure"]


def colorize(mask: np.ndarray, palette: Sequence[Sequence[int]], ignore_index: int = 255) -> np.ndarray:
    """``(H, W)`` class ids -> ``(H, W, 3)`` uint8 RGB; ``ignore_index`` is black."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[: len(palette)] = np.asarray(palette, dtype=np.uint8)
    table[ignore_index] = 0
    return table[np.clip(mask, 0, 255).astype(np.uint8)]


def prediction_figure(
    images: Sequence[np.ndarray], truths: Sequence[np.ndarray], predictions: Sequence[np.ndarray],
    palette: Sequence[Sequence[int]], out: str | Path, *, title: str = "",
) -> Path:
    """One row per image: the RGB image, the ground truth and the prediction, in the dataset's
    palette (void / ignored pixels black)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    if not (n == len(truths) == len(predictions)) or n == 0:
        raise InputError("need as many images, ground truths and predictions (at least one)")
    fig, axes = plt.subplots(n, 3, figsize=(9, 2.4 * n + 0.4), squeeze=False)
    for row, (img, gt, pred) in enumerate(zip(images, truths, predictions)):
        for col, (pic, name) in enumerate(((img, "image"), (colorize(gt, palette), "ground truth"),
                                          (colorize(pred, palette), "prediction"))):
            ax = axes[row, col]
            ax.imshow(pic)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
