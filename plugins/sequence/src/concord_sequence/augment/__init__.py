"""Sequence augmentations (CL4SRec: crop, mask, reorder; CoSeRec: substitute, insert)."""

from concord_sequence.augment.crop import Crop
from concord_sequence.augment.insert import Insert
from concord_sequence.augment.mask import Mask
from concord_sequence.augment.pair_views import PairViews
from concord_sequence.augment.reorder import Reorder
from concord_sequence.augment.substitute import Substitute

__all__ = ["Crop", "Insert", "Mask", "PairViews", "Reorder", "Substitute"]
