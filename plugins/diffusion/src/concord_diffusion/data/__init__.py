"""Image data: idx (``.gz``), ``.npy`` arrays and image folders, held in memory as uint8."""

from concord_diffusion.data.idx import read_idx, write_idx
from concord_diffusion.data.image_folder import read_image_folder
from concord_diffusion.data.image_set import ImageSet, to_model_range
from concord_diffusion.data.loading import detect_format, load_split
from concord_diffusion.data.npy_images import array_to_images, read_npy

__all__ = [
    "ImageSet",
    "array_to_images",
    "detect_format",
    "load_split",
    "read_idx",
    "read_image_folder",
    "read_npy",
    "to_model_range",
    "write_idx",
]
