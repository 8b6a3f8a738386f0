"""Random views of 8x8 digit images for the demo's contrastive pretraining.

Each view is a random affine jitter of the image -- rotation by up to ``rotate`` degrees, scaling
by a factor in ``[1 - scale, 1 + scale]``, translation by up to ``shift`` pixels, resampled
bilinearly with zero fill -- followed by the core's feature-space augmentations
(:class:`~concord.augment.FeatureMask` on pixels, :class:`~concord.augment.GaussianNoise`). The
jitter is what the encoder learns to ignore and raw pixels cannot: two drawings of one digit
differ by such small deformations far more than by their class.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor
from torch.nn import functional as F

from concord.augment.feature_mask import FeatureMask
from concord.augment.gaussian_noise import GaussianNoise

__all__ = ["affine_jitter", "random_view"]

SIDE = 8


class ViewSettings(Protocol):
    rotate: float
    scale: float
    shift: float
    mask_p: float
    noise_std: float


def affine_jitter(x: Tensor, *, rotate: float, scale: float, shift: float, generator: torch.Generator) -> Tensor:
    """Rows of ``x`` (``(N, 64)``, 8x8 images) each rotated, scaled and shifted at random."""
    n = x.shape[0]
    if rotate == 0 and scale == 0 and shift == 0:
        return x.clone()

    def uniform(*shape: int) -> Tensor:
        return 2 * torch.rand(*shape, generator=generator) - 1

    angle = uniform(n) * math.radians(rotate)
    factor = 1 + uniform(n) * scale
    move = uniform(n, 2) * (2 * shift / SIDE)  # affine_grid's coordinates span [-1, 1]
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack([torch.stack([cos, -sin, move[:, 0]], 1), torch.stack([sin, cos, move[:, 1]], 1)], 1)
    imgs = x.reshape(n, 1, SIDE, SIDE)
    grid = F.affine_grid(theta.to(x.dtype), list(imgs.shape), align_corners=False)
    return F.grid_sample(imgs, grid, align_corners=False, padding_mode="zeros").reshape(n, SIDE * SIDE)


def random_view(x: Tensor, cfg: ViewSettings, generator: torch.Generator) -> Tensor:
    """One random view of each row of ``x``, every draw from ``generator``."""
    x = affine_jitter(x, rotate=cfg.rotate, scale=cfg.scale, shift=cfg.shift, generator=generator)
    if cfg.mask_p > 0:
        x = FeatureMask(p=cfg.mask_p)(x, generator=generator)
    if cfg.noise_std > 0:
        x = GaussianNoise(std=cfg.noise_std)(x, generator=generator)
    return x
