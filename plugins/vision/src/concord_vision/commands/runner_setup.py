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


def run_with_runner(
    args: argparse.Namespace,
    check: Callable[[Any], None],
    finish: Callable[[Any, Any, Any, int], dict[str, Any]],
) -> int:
    """The body of ``pretrain`` and ``finetune``: join the process group (torchrun), open the
    run folder on rank 0, build mmengine's Runner with concord's hooks, train, then ``finish``
    (export / test, pictures) and write ``report.json`` on rank 0.

    ``check(cfg)`` validates command-specific settings before anything is written.
    """
    import torch.distributed as dist

    from concord.distributed import launched
    from concord_vision.commands.metrics_hook import MetricsHook
    from concord_vision.commands.run_folder import choose_output, open_run_folder

    cfg = load_vision_config(args.config, args.overrides)
    check(cfg)
    with launched() as (rank, world):
        if args.launcher == "pytorch" and world == 1:
            raise ConfigError("--launcher pytorch needs torchrun (WORLD_SIZE > 1); drop it to run "
                              "in one process")
        if world > 1 and args.launcher != "pytorch":
            raise ConfigError("under torchrun pass --launcher pytorch (mmengine's launcher)")
        if world > 1 and not args.output:
            raise ConfigError("under torchrun pass --output: every process must use the same run folder")
        output = choose_output(args.config, args.output, args.resume)
        if rank == 0:
            run_dir = open_run_folder(cfg, output, resume=args.resume, write=True)
        if world > 1:
            dist.barrier()
        if rank != 0:
            run_dir = open_run_folder(cfg, output, resume=args.resume, write=False)
        cfg.launcher = "pytorch" if world > 1 else "none"
        if world > 1 and cfg.get("model_wrapper_cfg") is None:
            import torch

            if not torch.cuda.is_available():
                # mmengine wraps with device_ids=[LOCAL_RANK], which DDP refuses for CPU modules
                cfg.model_wrapper_cfg = dict(type="MMDistributedDataParallel", device_ids=None,
                                             broadcast_buffers=False)
        from mmengine.runner import Runner

        from concord_vision.checkpoints import PlainCheckpointHook

        runner = Runner.from_cfg(cfg)
        runner.register_hook(PlainCheckpointHook())
        logger = (cfg.get("default_hooks") or {}).get("logger") or {}
        metrics = MetricsHook(run_dir, interval=int(logger.get("interval", 10)))
        runner.register_hook(metrics)
        runner.train()
        report = finish(runner, run_dir, metrics, world)
        if rank == 0:
            report = run_dir.write_report({**report, "world_size": world, "iters": runner.iter})
            run_dir.plot_metrics([k for k in metrics.last if k.startswith("loss")] or ["loss"],
                                 "loss.png", x="iter")
            print(f"[concord vision] run folder: {run_dir.path}")
    return 0
