"""1- and 2-step sampling, and the round trip to diffusers' ``ConsistencyModelPipeline``."""

from concord_diffusion.sampling.pipeline import (
    consistency_function_from_pipeline,
    load_pipeline,
    make_scheduler,
    pipeline_sigmas,
    save_pipeline,
)
from concord_diffusion.sampling.sampler import consistency_sample

__all__ = [
    "consistency_function_from_pipeline",
    "consistency_sample",
    "load_pipeline",
    "make_scheduler",
    "pipeline_sigmas",
    "save_pipeline",
]
