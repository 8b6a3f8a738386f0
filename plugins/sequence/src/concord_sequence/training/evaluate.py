"""``concord sequence evaluate RUN``: the test report of a saved model, as ``train`` computes it."""

from __future__ import annotations

from typing import Any

from concord.errors import CheckpointError
from concord.run import load_checkpoint
from concord.run.evaluate import Evaluation
from concord.run.threads import use_threads
from concord_sequence.evaluation.report import test_report
from concord_sequence.evaluation.sampled import load_or_draw_negatives
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.setup import build_model, load_data

__all__ = ["evaluate_run"]


def evaluate_run(ev: Evaluation[SequenceConfig]) -> dict[str, Any]:
    """The report keys of ``report.json`` for the model in ``checkpoints/best.pt`` (the selected
    epoch, what ``train`` reports) or in the checkpoint given; with the run's sampled negatives
    when it used them. Equal to the run's own report when nothing is overridden (tested)."""
    cfg = ev.config
    use_threads(cfg.train.threads)
    path = ev.checkpoint or ev.run_dir / "checkpoints" / "best.pt"
    if not path.is_file():
        raise CheckpointError(f"no saved model at {path}: the run trained no epoch; give a checkpoint instead")
    state = load_checkpoint(path, map_location=ev.device)
    if "model" not in state or "epoch" not in state:
        raise CheckpointError(f"{path} holds no model of a concord sequence run")
    data = load_data(cfg).split
    model = build_model(cfg, data.n_items).to(ev.device)
    model.load_state_dict(state["model"])
    negatives = None
    if cfg.eval.sampled_negatives is not None:
        negatives = load_or_draw_negatives(ev.run_dir / "sampled_negatives.npy", data, cfg.eval.sampled_negatives,
                                           cfg.seed, save=False)
    report, _ = test_report(model, data, exclude_history=cfg.eval.exclude_history, batch_size=cfg.eval.batch_size,
                            negatives=negatives, best_epoch=int(state["epoch"]))
    return report
