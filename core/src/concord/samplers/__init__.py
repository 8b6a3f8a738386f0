"""Samplers: which query/key pairs are positive, negative, and with what weight."""

from concord.samplers.base import PairContext, Pairs, PairTile, Sampler
from concord.samplers.hard_negatives import HardNegativesSampler
from concord.samplers.label_distance import LabelDistanceSampler
from concord.samplers.labels import LabelsSampler
from concord.samplers.views import ViewsSampler

__all__ = [
    "HardNegativesSampler",
    "LabelDistanceSampler",
    "LabelsSampler",
    "PairContext",
    "PairTile",
    "Pairs",
    "Sampler",
    "ViewsSampler",
]
