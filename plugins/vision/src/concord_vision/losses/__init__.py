"""Dense consistency losses (torch only)."""

from concord_vision.losses.pixpro_consistency import PixProLoss

__all__ = ["PixProLoss"]
