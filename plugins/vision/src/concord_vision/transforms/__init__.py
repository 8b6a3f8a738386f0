"""mmcv transforms (``BaseTransform``) around the concord augmentations; registered into mmseg's
``TRANSFORMS`` by :mod:`concord_vision.registration`."""

from concord_vision.transforms.augmentation_transform import AugmentationTransform
from concord_vision.transforms.pack_two_views import PackTwoViews

__all__ = ["AugmentationTransform", "PackTwoViews"]
