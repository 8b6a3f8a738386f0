"""Evaluation without downloads: Fréchet distance and precision / recall on the features of a
user's network or of a small classifier trained on the data set itself; PNG grids."""

from concord_diffusion.evaluate.feature_net import FeatureClassifier, cached_feature_net
from concord_diffusion.evaluate.frechet import (
    feature_statistics,
    frechet_distance,
    frechet_distance_of_features,
)
from concord_diffusion.evaluate.image_grid import save_grid, to_uint8
from concord_diffusion.evaluate.precision_recall import precision_recall

__all__ = [
    "FeatureClassifier",
    "cached_feature_net",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_of_features",
    "precision_recall",
    "save_grid",
    "to_uint8",
]
