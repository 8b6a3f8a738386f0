"""Which pixels of two views are positive pairs."""

from concord_vision.pairs.pixel_pairs import PixelPairsSampler

__all__ = ["PixelPairsSampler"]
