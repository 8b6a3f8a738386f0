"""Input checks of the feature-space augmentations."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from concord.validation import check_embeddings

__all__ = ["check_features"]


def check_features(x: Any) -> Tensor:
    """A finite floating-point tensor with a batch dimension: ``(N, D)`` or ``(N, ...)``."""
    return check_embeddings("x", x, ndim=tuple(range(2, 9)))
