"""mmengine hooks of the pretraining schedules."""

from concord_vision.hooks.densecl_warmup_hook import DenseCLWarmupHook
from concord_vision.hooks.momentum_hook import MomentumHook, cosine_momentum

__all__ = ["DenseCLWarmupHook", "MomentumHook", "cosine_momentum"]
