"""Functions a training loop can log: how a representation is spread on the sphere and how
consistently one threshold serves every class. Each takes embeddings (L2-normalised inside unless
told otherwise) and returns a 0-dimensional tensor; alignment and uniformity are differentiable,
so they can also be optimised directly (Wang & Isola 2020)."""

from concord.metrics.alignment import alignment
from concord.metrics.opis import far_thresholds, opis
from concord.metrics.tolerance import tolerance
from concord.metrics.uniformity import uniformity

__all__ = ["alignment", "far_thresholds", "opis", "tolerance", "uniformity"]
