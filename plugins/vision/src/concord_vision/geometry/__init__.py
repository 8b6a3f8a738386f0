"""Where feature-map bins lie in the original image: crop boxes, flips, bin centres."""

from concord_vision.geometry.bin_coordinates import bin_centres, bin_coordinates, bin_diagonals

__all__ = ["bin_centres", "bin_coordinates", "bin_diagonals"]
