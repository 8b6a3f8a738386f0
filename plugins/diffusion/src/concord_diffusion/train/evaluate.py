"""``concord diffusion evaluate RUN``: the report's sample-quality figures again, from a saved model.

``RUN`` is a run folder (its ``pipeline/``: the EMA UNet and the scheduler ``train`` saved) or a
checkpoint in its ``checkpoints/`` (that checkpoint's EMA weights, sampled on the grid of
:math:`N(k)` levels the run had reached at that step). The config is the run's ``config.yaml``
with ``--set`` overrides; the start-up is the core's (:mod:`concord.run.evaluate`). With the
run's own settings the figures equal ``report.json``'s (tested): every draw comes from the
run's seeded streams.
"""

from __future__ import annotations

from typing import Any

from concord.errors import CheckpointError, DataError
from concord.run import load_checkpoint
from concord.run.evaluate import Evaluation
from concord_diffusion.train.config import DiffusionRunConfig

__all__ = ["evaluate_run"]


def evaluate_run(evaluation: Evaluation[DiffusionRunConfig]) -> dict[str, Any]:
    from diffusers import UNet2DModel

    from concord_diffusion.ict.consistency_function import ConsistencyFunction
    from concord_diffusion.sampling.pipeline import load_pipeline, make_scheduler, pipeline_sigmas
    from concord_diffusion.train.report import sample_quality_report
    from concord_diffusion.train.trainer import load_training_data

    cfg, recipe = evaluation.config, evaluation.config.ict
    if evaluation.checkpoint is None:
        folder = evaluation.run_dir / "pipeline"
        if not folder.is_dir():
            raise DataError(f"{str(evaluation.run_dir)!r} holds no pipeline/ folder (an unfinished run? "
                            "give one of its checkpoints instead)")
        pipe = load_pipeline(folder)
        unet, scheduler, step = pipe.unet, pipe.scheduler, cfg.train.steps
    else:
        state = load_checkpoint(evaluation.checkpoint)
        if not isinstance(state, dict) or "ema" not in state or "step" not in state:
            raise CheckpointError(f"{str(evaluation.checkpoint)!r} is not a `concord diffusion train` checkpoint")
        step = int(state["step"])
        unet = UNet2DModel(**cfg.model)
        scheduler = make_scheduler(num_train_timesteps=recipe.num_levels(max(step - 1, 0), cfg.train.steps),
                                   sigma_min=recipe.sigma_min, sigma_max=recipe.sigma_max,
                                   sigma_data=recipe.sigma_data, rho=recipe.rho, clip_denoised=cfg.sample.clip)
    ema = ConsistencyFunction(unet, recipe.as_parameterization())
    if evaluation.checkpoint is not None:
        ema.load_state_dict(state["ema"])
    ema.to(evaluation.device).eval()
    two = ([recipe.sigma_max, cfg.sample.sigma_mid] if cfg.sample.sigma_mid is not None
           else pipeline_sigmas(scheduler, 2))
    report = {"train_steps": step, "evaluated": str(evaluation.checkpoint or evaluation.run_dir / "pipeline"),
              "sigma_mid_2step": two[1]}
    report.update(sample_quality_report(cfg, ema, [recipe.sigma_max], two, load_training_data(cfg), evaluation.device))
    return report
