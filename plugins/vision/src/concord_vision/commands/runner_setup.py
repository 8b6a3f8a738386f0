"""From a config file and ``--set`` overrides to an mmengine Runner writing into a run folder."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from concord.errors import ConfigError

__all__ = ["load_vision_config", "run_with_runner"]


def load_vision_config(path: str, overrides: list[str]):
    """``Config.fromfile`` + strict overrides + a check that every ``type`` is registered."""
    from mmengine.config import Config

    from concord_vision.commands.config_overrides import apply_overrides
    from concord_vision.commands.module_check import check_module_types
    from concord_vision.registration import register

    register()
    if not Path(path).is_file():
        raise ConfigError(f"config file {path!r} does not exist")
    try:
        cfg = Config.fromfile(path)
    except (SyntaxError, FileNotFoundError, KeyError) as exc:
        raise ConfigError(f"config file {path!r} cannot be read: {exc}") from exc
    apply_overrides(cfg, overrides)
    check_module_types(cfg)
    _check_data_roots(cfg)
    return cfg


def _check_data_roots(cfg) -> None:
    """Every dataset's ``data_root`` exists (before a run folder is made for nothing)."""
    from concord.errors import DataNotFoundError

    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        root = ((cfg.get(key) or {}).get("dataset") or {}).get("data_root")
        if root and not Path(root).is_dir():
            raise DataNotFoundError(
                f"{key}.dataset.data_root {root!r} does not exist: --set data.root=DIR reads "
                f"DIR/{cfg.get('data_name') or '<data_name>'} (default: $CONCORD_DATA, else ./data)")


def _device(cfg):
    """``train.device`` resolved by the core, and held to what mmengine will use: mmengine puts
    the model on a GPU whenever torch sees one, so a mismatch is refused (no silent change)."""
    from mmengine.device import get_device

    from concord.devices import resolve_device
    from concord.errors import DeviceError

    spec = str(cfg.get("device") or "auto")
    device = resolve_device(spec)
    engine = get_device()
    if device.type != engine:
        raise DeviceError(f"train.device={spec} but mmengine computes on {engine} on this machine "
                          f"(it uses a GPU whenever one is visible); run with "
                          f"CUDA_VISIBLE_DEVICES= to stay on the CPU, or --set train.device=auto")
    return device


def _share(world: int, message: tuple[bool, str, bool]) -> tuple[bool, str, bool]:
    """Rank 0 tells the other ranks ``(opened, error, resuming)``: whether it opened the run
    folder (else its error) and whether mmengine resumes."""
    if world == 1:
        return message
    import torch.distributed as dist

    box = [message]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def run_with_runner(
    args: argparse.Namespace,
    check: Callable[[Any], None],
    finish: Callable[[Any, Any, Any, int], dict[str, Any]],
) -> int:
    """The body of ``pretrain`` and ``finetune``, the core's start-up (:func:`concord.run.run_training`)
    on mmengine: load the config strictly; resolve ``train.device`` and, under torchrun, join the
    process group with that device's backend (:func:`concord.distributed.launched`); open the
    run folder on rank 0 with the resume rule and tell the other ranks (or rank 0's error); build
    mmengine's Runner with concord's hooks and train; then ``finish`` (export / test, pictures)
    and write ``report.json`` on rank 0. ``check(cfg)`` validates command-specific settings
    before anything is written.
    """
    from mmengine.runner import Runner

    from concord.distributed import launched
    from concord.errors import ConfigError, UserError
    from concord.run import say
    from concord.run.threads import use_threads
    from concord_vision.checkpoints import PlainCheckpointHook
    from concord_vision.commands.metrics_hook import MetricsHook
    from concord_vision.commands.run_folder import attach_run_folder, choose_output, open_run_folder

    cfg = load_vision_config(args.config, args.overrides)
    check(cfg)
    device = _device(cfg)
    use_threads(cfg.get("threads"))
    with launched(device) as (rank, world):
        if args.launcher == "pytorch" and world == 1:
            raise ConfigError("--launcher pytorch needs torchrun (WORLD_SIZE > 1); drop it to run "
                              "in one process")
        if world > 1 and args.launcher != "pytorch":
            raise ConfigError("under torchrun pass --launcher pytorch (mmengine's launcher)")
        if world > 1 and not args.output:
            raise ConfigError("under torchrun pass --output: every process must use the same run folder")
        output = choose_output(args.config, args.output, args.resume)
        if rank == 0:
            try:
                run_dir = open_run_folder(cfg, output, resume=args.resume)
            except UserError as exc:
                _share(world, (False, str(exc), False))
                raise
            _share(world, (True, "", bool(cfg.resume)))
        else:
            ok, message, resuming = _share(world, (True, "", False))
            if not ok:
                raise ConfigError(f"rank 0 could not start the run: {message}")
            run_dir = attach_run_folder(cfg, output, resuming=resuming)
        cfg.launcher = "pytorch" if world > 1 else "none"
        if world > 1 and device.type == "cpu" and cfg.get("model_wrapper_cfg") is None:
            # mmengine wraps with device_ids=[LOCAL_RANK], which DDP refuses for CPU modules
            cfg.model_wrapper_cfg = dict(type="MMDistributedDataParallel", device_ids=None,
                                         broadcast_buffers=False)
        runner = Runner.from_cfg(cfg)
        runner.register_hook(PlainCheckpointHook())
        logger = (cfg.get("default_hooks") or {}).get("logger") or {}
        metrics = MetricsHook(run_dir, interval=int(logger.get("interval", 10)))
        runner.register_hook(metrics)
        runner.train()
        report = finish(runner, run_dir, metrics, world)
        if rank == 0:
            run_dir.write_report({**report, "world_size": world, "iters": runner.iter,
                                  "device": str(device)})
            run_dir.plot_metrics([k for k in metrics.last if k.startswith("loss")] or ["loss"],
                                 "loss.png", x="iter")
            say(f"run written to {run_dir.path}")
    return 0
