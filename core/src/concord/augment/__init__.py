"""Augmentations: the interface, composition, and domain-free feature-space augmentations."""

from concord.augment.base import Augmentation, random_uniform
from concord.augment.compose import Compose
from concord.augment.feature_dropout import FeatureDropout
from concord.augment.feature_mask import FeatureMask
from concord.augment.gaussian_noise import GaussianNoise

__all__ = [
    "Augmentation",
    "Compose",
    "FeatureDropout",
    "FeatureMask",
    "GaussianNoise",
    "random_uniform",
]
