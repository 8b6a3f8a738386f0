"""Network pieces of the dense pretraining methods (torch only)."""

from concord_vision.nn.pixel_propagation import PixelPropagation
from concord_vision.nn.projection_head import ProjectionHead

__all__ = ["PixelPropagation", "ProjectionHead"]
