"""The final report of a run: 1- and 2-step sample quality of the EMA model."""

from __future__ import annotations

from typing import Any

import torch

from concord.run import Run, say
from concord_diffusion.data.image_set import ImageSet
from concord_diffusion.data.loading import load_split
from concord_diffusion.evaluate.feature_source import extract_features, feature_network
from concord_diffusion.evaluate.frechet import frechet_distance_of_features
from concord_diffusion.evaluate.sample_quality import generate, sample_quality
from concord_diffusion.ict.consistency_function import ConsistencyFunction
from concord_diffusion.train.config import DiffusionRunConfig
from concord_diffusion.train.streams import stream_generator
from concord_diffusion.train.trainer import TrainedModel

__all__ = ["build_report", "sample_quality_report"]


def build_report(run: Run[DiffusionRunConfig], trained: TrainedModel) -> dict[str, Any]:
    """``report.json``'s content: ``train_steps``, ``fd_1step``, ``fd_2step``,
    ``precision_1step``, ``recall_1step`` (and the 2-step precision / recall, the feature
    network's held-out accuracy, the FD of real training images against the reference -- the
    floor a perfect model would reach at this sample size -- and timing)."""
    cfg = run.config
    recipe = cfg.ict
    report: dict[str, Any] = {
        "train_steps": cfg.train.steps, "batch_size": cfg.train.batch_size, "world_size": run.world_size,
        "final_loss": trained.final_loss, "final_num_levels": int(trained.scheduler.config.num_train_timesteps),
        "seconds_per_step": trained.seconds_per_step, "loss": cfg.loss["name"],
        "parameterization": recipe.parameterization, "teacher": recipe.teacher,
        "sigma_mid_2step": trained.sigmas_2step[1],
        "pipeline": str(run.dir.file("pipeline")),
        "pipeline_samples_exactly": recipe.parameterization == "ict",
    }
    if trained.replicas_identical is not None:
        report["replicas_identical"] = trained.replicas_identical
    if not cfg.eval.enabled:
        return report
    report.update(sample_quality_report(cfg, trained.ema, trained.sigmas_1step, trained.sigmas_2step,
                                        trained.data, run.device))
    return report


def sample_quality_report(cfg: DiffusionRunConfig, ema: ConsistencyFunction, sigmas_1step: list[float],
                          sigmas_2step: list[float], data: ImageSet, device: torch.device) -> dict[str, Any]:
    """The evaluation keys of ``report.json`` (``fd_1step``, ``fd_2step``, precision / recall,
    ``fd_train_vs_reference``, the feature network's accuracy) for the model ``ema`` trained on
    ``data``; every draw comes from the run's seeded streams, so ``concord diffusion evaluate``
    reproduces ``train``'s figures exactly."""
    recipe = cfg.ict
    report: dict[str, Any] = {}
    trained_sigmas = {1: sigmas_1step, 2: sigmas_2step}
    ev = cfg.eval
    reference = load_split(cfg.data.root, ev.reference, format=cfg.data.format, layout=cfg.data.layout)
    if reference is None:
        from concord.errors import DataError

        raise DataError(f"eval.reference={ev.reference!r} but {cfg.data.root!r} has no {ev.reference} part; "
                        "set eval.reference=train")
    reference = reference.padded(cfg.data.pad_to)
    features, about = feature_network(ev.feature_net, data.images, data.labels, cache_dir=ev.cache_dir,
                                      epochs=ev.classifier_epochs, seed=cfg.seed, width=ev.classifier_width)
    report.update(about)
    say(f"evaluating: {ev.n_samples} samples per sampler against {len(reference)} {ev.reference} images")
    real = extract_features(features, reference.images, batch_size=ev.batch_size, device=device)
    n = min(ev.n_samples, len(reference))
    pick = torch.randperm(len(reference), generator=stream_generator(cfg.seed, "eval-reference"))[:n]
    train_pick = torch.randperm(len(data), generator=stream_generator(cfg.seed, "eval-train"))[:n]
    train_features = extract_features(features, data.images[train_pick], batch_size=ev.batch_size, device=device)
    report["fd_train_vs_reference"] = frechet_distance_of_features(real, train_features)
    shape = tuple(data.images.shape[1:])
    for steps, sigmas in trained_sigmas.items():
        fake = generate(ema, ev.n_samples, shape, sigmas,
                        seed_stream=lambda b, s=steps: stream_generator(cfg.seed, f"eval/{s}", b),
                        batch_size=ev.batch_size, sigma_min=recipe.sigma_min, clip=cfg.sample.clip, device=device)
        q = sample_quality(real, fake, features, k=ev.k, pr_reference=real[pick], batch_size=ev.batch_size, device=device)
        report.update({f"fd_{steps}step": q["fd"], f"precision_{steps}step": q["precision"],
                       f"recall_{steps}step": q["recall"]})
    report.update({"eval_samples": ev.n_samples, "eval_reference": ev.reference, "eval_reference_images": len(reference)})
    return report
