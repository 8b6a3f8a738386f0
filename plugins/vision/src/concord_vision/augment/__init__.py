"""Coordinate-aware augmentations of views (mmcv-style result dicts), each a concord
``Augmentation`` with an explicit generator that never mutates its input."""

from concord_vision.augment.color_jitter import ColorJitter
from concord_vision.augment.gaussian_blur import GaussianBlur
from concord_vision.augment.random_flip import RandomFlip
from concord_vision.augment.random_grayscale import RandomGrayscale
from concord_vision.augment.random_resized_crop import RandomResizedCrop
from concord_vision.augment.solarize import Solarize
from concord_vision.augment.two_views import TwoViews, byol_view_steps

__all__ = [
    "ColorJitter",
    "GaussianBlur",
    "RandomFlip",
    "RandomGrayscale",
    "RandomResizedCrop",
    "Solarize",
    "TwoViews",
    "byol_view_steps",
]
