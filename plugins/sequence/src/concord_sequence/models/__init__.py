"""Encoders: SASRec, and MCLRec's learnable model augmenter."""

from concord_sequence.models.augmenter import MLPAugmenter
from concord_sequence.models.sasrec import SASRec

__all__ = ["MLPAugmenter", "SASRec"]
