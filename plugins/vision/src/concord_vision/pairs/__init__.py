"""Which pixels of two views are positive pairs."""

from concord_vision.pairs.global_image_ids import global_image_ids
from concord_vision.pairs.pixel_pairs import PixelPairsSampler

__all__ = ["PixelPairsSampler", "global_image_ids"]
