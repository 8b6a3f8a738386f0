"""Round trip to diffusers: a trained UNet as a ``ConsistencyModelPipeline`` folder, and back."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from concord.errors import ConfigError, DataError
from concord_diffusion.ict.consistency_function import ConsistencyFunction
from concord_diffusion.ict.parameterization import Parameterization

__all__ = [
    "consistency_function_from_pipeline",
    "load_pipeline",
    "make_scheduler",
    "pipeline_sigmas",
    "save_pipeline",
]


def make_scheduler(
    *,
    num_train_timesteps: int,
    sigma_min: float = 0.002,
    sigma_max: float = 80.0,
    sigma_data: float = 0.5,
    rho: float = 7.0,
    clip_denoised: bool = True,
):
    """The ``diffusers.CMStochasticIterativeScheduler`` whose sampling matches a model trained
    with the iCT parameterisation on this grid (its ``get_scalings_for_boundary_condition``,
    ``scale_model_input`` and ``sigma_to_t`` are the same formulas)."""
    from diffusers import CMStochasticIterativeScheduler

    if num_train_timesteps < 2:
        raise ConfigError(f"num_train_timesteps must be >= 2, got {num_train_timesteps}")
    return CMStochasticIterativeScheduler(
        num_train_timesteps=int(num_train_timesteps), sigma_min=float(sigma_min),
        sigma_max=float(sigma_max), sigma_data=float(sigma_data), rho=float(rho),
        clip_denoised=bool(clip_denoised),
    )


def save_pipeline(unet: nn.Module, scheduler, folder: str | Path) -> Path:
    """Write ``ConsistencyModelPipeline(unet, scheduler)`` with ``save_pretrained`` (safetensors),
    first to a sibling folder then renamed into place, so a killed run never leaves half a pipeline.

    ``ConsistencyModelPipeline.from_pretrained(folder)`` loads it unchanged.
    """
    import shutil

    from diffusers import ConsistencyModelPipeline

    folder = Path(folder)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    ConsistencyModelPipeline(unet=unet, scheduler=scheduler).save_pretrained(tmp)
    old = folder.with_name(f".{folder.name}.old")
    if folder.exists():
        if old.exists():
            shutil.rmtree(old)
        folder.replace(old)
    tmp.replace(folder)
    if old.exists():
        shutil.rmtree(old)
    return folder


def load_pipeline(folder: str | Path):
    """``ConsistencyModelPipeline.from_pretrained(folder)`` (local files only, nothing downloads)."""
    from diffusers import ConsistencyModelPipeline

    folder = Path(folder)
    if not (folder / "model_index.json").is_file():
        raise DataError(f"{str(folder)!r} is not a diffusers pipeline folder (no model_index.json)")
    return ConsistencyModelPipeline.from_pretrained(folder, local_files_only=True)


def consistency_function_from_pipeline(pipe) -> ConsistencyFunction:
    """The pipeline's UNet as a :class:`ConsistencyFunction` with its scheduler's
    :math:`\\sigma_{\\min}, \\sigma_d` (iCT parameterisation: the one the pipeline samples with)."""
    cfg = pipe.scheduler.config
    return ConsistencyFunction(pipe.unet, Parameterization(float(cfg.sigma_min), float(cfg.sigma_data), "ict"))


def pipeline_sigmas(scheduler, steps: int) -> list[float]:
    """The noise levels ``ConsistencyModelPipeline(num_inference_steps=steps)`` samples at, read
    from a copy of the scheduler (``set_timesteps``): ``[sigma_max]`` for one step."""
    import copy

    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be an integer >= 1, got {steps!r}")
    s = copy.deepcopy(scheduler)
    s.set_timesteps(steps)
    return [float(v) for v in torch.as_tensor(s.sigmas)[:-1]]
