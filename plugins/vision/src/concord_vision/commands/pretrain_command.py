"""``concord vision pretrain CONFIG``: self-supervised pretraining, then the backbone export."""

from __future__ import annotations

import argparse
from typing import Any

from concord import distributed
from concord.errors import CheckpointError, ConfigError

__all__ = ["finish_pretrain", "pretrain"]


def finish_pretrain(runner, run_dir, metrics, world: int) -> dict[str, Any]:
    """Export ``backbone.pth`` from the last checkpoint (rank 0) and summarise the run."""
    from concord_vision.checkpoints import export_backbone
    from concord_vision.commands.run_folder import latest_checkpoint

    report: dict[str, Any] = {"method": runner.cfg.model.get("type")}
    if distributed.rank() != 0:
        return report
    checkpoint = latest_checkpoint(run_dir.checkpoint_dir)
    if checkpoint is None:
        raise CheckpointError(f"no checkpoint was written in {run_dir.checkpoint_dir}")
    backbone = export_backbone(checkpoint, run_dir.file("backbone.pth"))
    last = metrics.last
    batch = int(runner.cfg.train_dataloader.batch_size) * world
    seconds = float(last.get("seconds", 0.0))
    done = int(last.get("iter", 0)) - metrics.start_iter
    report.update({
        "loss": last.get("loss"),
        "seconds": seconds,
        "images_per_second": round(batch * done / seconds, 3) if seconds > 0 else None,
        "backbone": str(backbone),
        "checkpoint": str(checkpoint),
    })
    return report


def pretrain(args: argparse.Namespace) -> int:
    from concord_vision.commands.runner_setup import run_with_runner

    def check(cfg) -> None:
        if not isinstance(cfg.get("model"), dict) or "backbone" not in cfg.model:
            raise ConfigError("a pretraining config needs a model with a backbone (model.backbone)")

    return run_with_runner(args, check, finish_pretrain)
