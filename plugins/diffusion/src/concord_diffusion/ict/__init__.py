"""Improved consistency training (iCT, Song & Dhariwal 2023): each formula in its own module."""

from concord_diffusion.ict.consistency_function import ConsistencyFunction
from concord_diffusion.ict.curriculum import (
    ct_discretization,
    ct_teacher_decay,
    doubling_interval,
    ict_discretization,
)
from concord_diffusion.ict.dropout_sync import rewound_rng
from concord_diffusion.ict.ema import EMA
from concord_diffusion.ict.karras import karras_sigmas
from concord_diffusion.ict.loss_weighting import ict_weighting, uniform_weighting
from concord_diffusion.ict.objective import ConsistencyTraining, StepDraw
from concord_diffusion.ict.parameterization import Parameterization
from concord_diffusion.ict.recipe import Grid, Recipe
from concord_diffusion.ict.step_distribution import (
    lognormal_step_probabilities,
    sample_steps,
    uniform_step_probabilities,
)

__all__ = [
    "EMA",
    "ConsistencyFunction",
    "ConsistencyTraining",
    "Grid",
    "Parameterization",
    "Recipe",
    "StepDraw",
    "ct_discretization",
    "ct_teacher_decay",
    "doubling_interval",
    "ict_discretization",
    "ict_weighting",
    "karras_sigmas",
    "lognormal_step_probabilities",
    "rewound_rng",
    "sample_steps",
    "uniform_step_probabilities",
    "uniform_weighting",
]
