"""The training loop of ``concord diffusion train``: consistency training with accelerate."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from concord.errors import ConfigError, DataError
from concord.run import Run, build_component, progress, use_threads
from concord_diffusion.data.image_set import ImageSet, to_model_range
from concord_diffusion.data.loading import load_split
from concord_diffusion.evaluate.image_grid import save_grid
from concord_diffusion.ict.consistency_function import ConsistencyFunction
from concord_diffusion.ict.ema import EMA
from concord_diffusion.ict.objective import ConsistencyTraining
from concord_diffusion.sampling.pipeline import make_scheduler, pipeline_sigmas, save_pipeline
from concord_diffusion.sampling.sampler import consistency_sample
from concord_diffusion.train.config import DiffusionRunConfig
from concord_diffusion.train.divergence import TrainingDiverged
from concord_diffusion.train.streams import batch_indices, stream_generator, stream_seed

__all__ = ["TrainedModel", "load_training_data", "train_consistency"]


@dataclass
class TrainedModel:
    """What training leaves for sampling and evaluation (rank 0)."""

    ema: ConsistencyFunction
    scheduler: Any
    sigmas_1step: list[float]
    sigmas_2step: list[float]
    data: ImageSet
    final_loss: float
    seconds_per_step: float
    #: under several processes: every process ended with bit-identical weights (``None`` on one)
    replicas_identical: bool | None = None


def load_training_data(cfg: DiffusionRunConfig) -> ImageSet:
    """The training images, padded, limited, and checked against the UNet (channels, size)."""
    data = load_split(cfg.data.root, "train", format=cfg.data.format, layout=cfg.data.layout)
    if cfg.data.limit is not None:
        labels = data.labels[: cfg.data.limit] if data.labels is not None else None
        data = ImageSet(data.images[: cfg.data.limit], labels, data.source)
    data = data.padded(cfg.data.pad_to)
    in_channels = cfg.model.get("in_channels", 3)
    if data.channels != in_channels:
        raise DataError(f"{data.source}: the images have {data.channels} channel(s) but the UNet has "
                        f"in_channels={in_channels}; set model.in_channels and model.out_channels to {data.channels}")
    size = cfg.model.get("sample_size")
    if size is not None and data.size != (size, size):
        raise DataError(f"{data.source}: the images are {data.size[0]}x{data.size[1]} but model.sample_size={size}; "
                        f"set data.pad_to={size} or model.sample_size")
    return data


def _optimizer(cfg: DiffusionRunConfig, params) -> torch.optim.Optimizer:
    t = cfg.train
    cls = torch.optim.RAdam if t.optimizer == "radam" else torch.optim.Adam
    return cls(params, lr=t.lr, betas=tuple(t.betas), weight_decay=t.weight_decay)


def _grad_norm(params: list[nn.Parameter], clip: float | None) -> float:
    grads = [p.grad for p in params if p.grad is not None]
    if clip is not None:
        return float(torch.nn.utils.clip_grad_norm_(params, clip))
    return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0


def _replicas_identical(accelerator, module: nn.Module) -> bool:
    """Whether every process holds bit-identical parameters (one all-gather of the flat vector)."""
    flat = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
    gathered = accelerator.gather(flat[None])
    return bool(all(torch.equal(gathered[0], row) for row in gathered[1:]))


def train_consistency(run: Run[DiffusionRunConfig]) -> TrainedModel | None:
    """Train on every process; return the EMA model and what evaluation needs on rank 0 (``None``
    on the others). Checkpoints, metrics, grids and the pipeline folder go to ``run.dir``.
    Under several processes the end checks that every process holds the same weights."""
    from accelerate import Accelerator
    from diffusers import UNet2DModel

    cfg, recipe = run.config, run.config.ict
    use_threads(cfg.train.threads)
    world, rank = run.world_size, run.rank
    total = cfg.train.steps
    batch = cfg.train.batch_size
    if batch % world:
        raise ConfigError(f"train.batch_size={batch} must be divisible by the {world} processes")
    local = batch // world
    data = load_training_data(cfg)
    shape = tuple(data.images.shape[1:])

    if run.device.type == "cuda":
        torch.cuda.set_device(run.device)
    accelerator = Accelerator(cpu=run.device.type == "cpu")
    device = accelerator.device
    torch.manual_seed(stream_seed(cfg.seed, "init"))  # the same initial weights on every process
    unet = UNet2DModel(**cfg.model)
    fn = ConsistencyFunction(unet, recipe.as_parameterization())
    ema = EMA(fn)
    teacher_ema = EMA(fn) if recipe.teacher == "ema" else None
    opt = _optimizer(cfg, fn.parameters())
    distance = build_component("losses", cfg.loss, where="loss")
    state = run.resume_state
    start, window, seconds = 0, [0.0, 0], 0.0
    if state is not None:
        fn.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        if teacher_ema is not None:
            teacher_ema.load_state_dict(state["teacher"])
        opt.load_state_dict(state["optimizer"])
        start, window, seconds = int(state["step"]), list(state["window"]), float(state["seconds"])
    fn, opt = accelerator.prepare(fn, opt)
    ema.module.to(device)
    if teacher_ema is not None:
        teacher_ema.module.to(device)
    plain = accelerator.unwrap_model(fn)
    params = [p for p in plain.parameters() if p.requires_grad]
    objective = ConsistencyTraining(recipe, distance)
    grid_noise = torch.randn((min(cfg.sample.grid, 256), *shape), generator=stream_generator(cfg.seed, "grid"))
    main = run.is_main
    last_checkpoint = start if state is not None else None

    def checkpoint(step: int) -> None:
        nonlocal last_checkpoint
        payload = {"step": step, "model": plain.state_dict(), "ema": ema.state_dict(),
                   "optimizer": opt.state_dict(), "window": window, "seconds": seconds,
                   "teacher": teacher_ema.state_dict() if teacher_ema is not None else None}
        run.dir.save_progress(payload, done=step, extendable=recipe.total_steps is not None)
        last_checkpoint = step

    def grid_png(step: int) -> None:
        if main:
            x = consistency_sample(ema.module, grid_noise.to(device), [recipe.sigma_max], sigma_min=recipe.sigma_min,
                                   clip=cfg.sample.clip)
            save_grid(x, run.dir.file(f"samples/step_{step:06d}.png"))

    num_levels, loss_value = recipe.num_levels(max(start - 1, 0), total), float("nan")
    bar = progress(range(start, total), desc="consistency training", initial=start, total=total, disable=None if main else True)
    for k in bar:
        t0 = time.perf_counter()
        fn.train()
        num_levels = recipe.num_levels(k, total)
        grid = recipe.grid(num_levels)
        rows = batch_indices(len(data), batch, k, cfg.seed)[rank * local : (rank + 1) * local]
        x = to_model_range(data.images[rows]).to(device)
        draw = objective.draw(grid, batch, shape, stream_generator(cfg.seed, "draw", k)).rows(rank * local, (rank + 1) * local)
        torch.manual_seed(stream_seed(cfg.seed, f"dropout/{rank}", k))
        teacher = plain if teacher_ema is None else teacher_ema.module
        loss = objective.loss(fn, teacher, x, draw, grid)
        stats = torch.stack([loss.detach().float(), (~torch.isfinite(loss.detach())).float()])
        if world > 1:
            stats = accelerator.reduce(stats, reduction="sum")
        loss_value = float(stats[0]) / world
        if float(stats[1]) > 0:
            raise TrainingDiverged(k + 1, "loss", loss_value, last_checkpoint, str(run.dir.path))
        accelerator.backward(loss)
        norm = _grad_norm(params, cfg.train.grad_clip)
        if not math.isfinite(norm):
            raise TrainingDiverged(k + 1, "gradient norm", norm, last_checkpoint, str(run.dir.path))
        opt.step()
        opt.zero_grad(set_to_none=True)
        ema.update(plain, cfg.train.ema_decay)
        if teacher_ema is not None:
            teacher_ema.update(plain, recipe.teacher_decay(num_levels))
        seconds += time.perf_counter() - t0
        window[0] += loss_value
        window[1] += 1
        step = k + 1
        if step % cfg.train.log_every == 0 or step == total:
            run.dir.log({"step": step, "loss": window[0] / window[1], "num_levels": num_levels,
                         "grad_norm": norm, "lr": cfg.train.lr, "seconds_per_step": seconds / step})
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{window[0] / window[1]:.4g}", N=num_levels)
            window = [0.0, 0]
        if cfg.train.sample_every and step % cfg.train.sample_every == 0:
            grid_png(step)
        if step % cfg.train.checkpoint_every == 0 or step == total:
            checkpoint(step)
    identical = _replicas_identical(accelerator, plain) if world > 1 else None
    if not main:
        return None
    scheduler = make_scheduler(num_train_timesteps=num_levels, sigma_min=recipe.sigma_min, sigma_max=recipe.sigma_max,
                               sigma_data=recipe.sigma_data, rho=recipe.rho, clip_denoised=cfg.sample.clip)
    save_pipeline(ema.module.unet, scheduler, run.dir.file("pipeline"))
    two = [recipe.sigma_max, cfg.sample.sigma_mid] if cfg.sample.sigma_mid is not None else pipeline_sigmas(scheduler, 2)
    for steps, sigmas in ((1, [recipe.sigma_max]), (2, two)):
        x = consistency_sample(ema.module, grid_noise.to(device), sigmas, sigma_min=recipe.sigma_min, clip=cfg.sample.clip,
                               generator=stream_generator(cfg.seed, "grid", steps))
        save_grid(x, run.dir.file(f"samples_{steps}step.png"))
    run.dir.plot_metrics(["loss", "num_levels", "grad_norm"], "loss.png", x="step")
    return TrainedModel(ema.module, scheduler, [recipe.sigma_max], two, data, loss_value, seconds / total, identical)
