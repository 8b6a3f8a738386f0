"""``concord vision finetune CONFIG``: train an mmseg segmentor, test it, report and draw."""

from __future__ import annotations

import argparse
from typing import Any

from concord import distributed
from concord.errors import CheckpointError, ConfigError

__all__ = ["check_init_checkpoint", "finetune", "finish_finetune"]

N_FIGURE = 4  # test images drawn in predictions.png


def check_init_checkpoint(cfg) -> None:
    """A ``Pretrained`` backbone init must name a file holding ``<prefix>*`` weights (mmengine
    itself would only log the missing keys and train from random weights)."""
    from concord_vision.checkpoints import load_weights

    init = cfg.get("model", {}).get("backbone", {}).get("init_cfg")
    if not init or init.get("type") != "Pretrained":
        return
    path, prefix = init.get("checkpoint"), init.get("prefix", "")
    if not path:
        raise ConfigError(
            "model.backbone.init_cfg.checkpoint is not set: pass --set "
            "model.backbone.init_cfg.checkpoint=PATH (the backbone.pth of `concord vision "
            "pretrain`), or --set model.backbone.init_cfg=None to start from random weights")
    state = load_weights(path)
    state = state.get("state_dict", state)
    if not any(str(k).startswith(prefix) for k in state):
        raise CheckpointError(f"{path!r} holds no backbone weights (no key starts with {prefix!r})")


def _figure(runner, run_dir) -> str | None:
    from concord_vision.commands.prediction_figure import prediction_figure

    images, truths, preds = [], [], []
    model = runner.model
    model.eval()
    for data in runner.test_dataloader:
        for sample, inp in zip(model.test_step(data), data["inputs"]):
            images.append(inp.numpy().transpose(1, 2, 0)[..., ::-1])  # BGR -> RGB
            truths.append(sample.gt_sem_seg.data[0].cpu().numpy())
            preds.append(sample.pred_sem_seg.data[0].cpu().numpy())
        if len(images) >= N_FIGURE:
            break
    if not images:
        return None
    palette = runner.test_dataloader.dataset.metainfo["palette"]
    out = prediction_figure(images[:N_FIGURE], truths[:N_FIGURE], preds[:N_FIGURE], palette,
                            run_dir.file("predictions.png"), title="test split")
    return str(out)


def finish_finetune(runner, run_dir, metrics, world: int) -> dict[str, Any]:
    """Test on the test split; the report holds ``miou``, ``macc``, ``aacc`` (percent) and the
    per-class IoU; rank 0 draws ``predictions.png``."""
    result = runner.test()
    report: dict[str, Any] = {
        "miou": result.get("mIoU"), "macc": result.get("mAcc"), "aacc": result.get("aAcc"),
        "iou": {k.removeprefix("IoU."): v for k, v in result.items() if k.startswith("IoU.")},
    }
    dataset = runner.cfg.train_dataloader.dataset
    report["label_fraction"] = dataset.get("label_fraction", 1.0)
    init = runner.cfg.model.backbone.get("init_cfg") or {}
    report["init"] = init.get("checkpoint") or "random"
    report["seconds"] = metrics.last.get("seconds")
    if distributed.rank() == 0:
        report["figure"] = _figure(runner, run_dir)
    return report


def finetune(args: argparse.Namespace) -> int:
    from concord_vision.commands.runner_setup import run_with_runner

    return run_with_runner(args, check_init_checkpoint, finish_finetune)
