"""``concord diffusion train``: the run configuration, the accelerate training loop, the report."""

from concord_diffusion.train.config import DiffusionRunConfig
from concord_diffusion.train.divergence import TrainingDiverged

__all__ = ["DiffusionRunConfig", "TrainingDiverged"]
