"""The training loop of ``concord sequence train``: epochs, validation, early stopping,
checkpoints (atomic, exact ``--resume``), the test evaluation of the best model, the report."""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

import torch

from concord import distributed
from concord.errors import ConfigError
from concord.run import (
    EarlyStopping,
    Run,
    capture_rng,
    progress,
    restore_rng,
    seed_everything,
    use_threads,
)
from concord.run.files import atomic_write_text
from concord_sequence.data.summary import format_summary
from concord_sequence.evaluation.ranking import evaluate
from concord_sequence.evaluation.report import REPORT_KEYS, test_report
from concord_sequence.evaluation.sampled import load_or_draw_negatives
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.methods import build_method
from concord_sequence.training.setup import build_model, load_data
from concord_sequence.training.shard import local_rows

__all__ = ["REPORT_KEYS", "train"]


def _say(msg: str) -> None:
    if distributed.rank() == 0:
        print(msg, file=sys.stderr, flush=True)


def train(run: Run[SequenceConfig]) -> dict[str, Any]:
    """Train, select the best validation epoch, test it; returns the report (rank 0; the other
    ranks help training and return ``{}``)."""
    cfg, run_dir, resume_state = run.config, run.dir, run.resume_state
    use_threads(cfg.train.threads)
    rank, world = distributed.rank(), distributed.world_size()
    if cfg.train.batch_size < world:
        raise ConfigError(f"train.batch_size ({cfg.train.batch_size}) is smaller than the {world} processes")
    device = run.device
    g = seed_everything(cfg.seed)  # the epoch order: the same on every process
    aug_gen = torch.Generator().manual_seed(cfg.seed * 1000 + 1 + rank)  # views, partners
    torch.manual_seed(cfg.seed)  # the same initial weights on every process

    loaded = load_data(cfg)
    data = loaded.split
    if rank == 0:
        _say(format_summary(loaded.summary))
        atomic_write_text(run_dir.file("dataset_summary.json"), json.dumps(loaded.summary, indent=2) + "\n")
    if len(data.train_user) == 0:
        raise ConfigError("no training samples: every user has exactly 3 items (input, validation, test)")

    model = build_model(cfg, data.n_items).to(device)
    method = build_method(cfg, model, data, aug_gen, device)
    negatives = None
    if cfg.eval.sampled_negatives is not None:
        negatives = load_or_draw_negatives(run_dir.file("sampled_negatives.npy"), data,
                                           cfg.eval.sampled_negatives, cfg.seed, save=rank == 0)
    ev = cfg.eval
    stopper = EarlyStopping(patience=cfg.train.patience, mode="max")
    # the selection metric's own history convention, when it is not the reported one
    select_prefix = "valid_" if ev.selection_excludes_history == ev.exclude_history else (
        "valid_history_excluded_" if ev.selection_excludes_history else "valid_history_kept_")
    metric_key = f"{select_prefix}{ev.select_by}"

    def validate() -> tuple[dict[str, float], float]:
        """The logged validation metrics and the value that selects the epoch."""
        valid = evaluate(model, data, "valid", exclude_history=ev.exclude_history, batch_size=ev.batch_size,
                         negatives=negatives)
        record = {f"valid_{k}": v for k, v in valid.items()}
        if select_prefix != "valid_":
            other = evaluate(model, data, "valid", exclude_history=ev.selection_excludes_history,
                             batch_size=ev.batch_size)
            record.update({f"{select_prefix}{k}": v for k, v in other.items()})
        return record, record[metric_key]

    start, stopped = 0, False
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        method.load_state_dict(resume_state["method"])
        g.set_state(resume_state["generator"])
        aug_gen.set_state(resume_state["aug_generator"][rank])
        restore_rng(resume_state["rng"])
        stopper.load_state_dict(resume_state["early_stopping"])
        start, stopped = int(resume_state["epoch"]) + 1, bool(resume_state["stopped"])

    n_train = len(data.train_user)
    batch = cfg.train.batch_size
    n_batches = math.ceil(n_train / batch)
    if cfg.train.max_batches is not None:
        n_batches = min(n_batches, cfg.train.max_batches)
    for epoch in range(start, cfg.train.epochs):
        if stopped:
            break
        model.train()
        perm = torch.randperm(n_train, generator=g).numpy()
        sums: dict[str, float] = {}
        t0 = time.perf_counter()
        seen = 0
        bar = progress(range(n_batches), desc=f"{cfg.method.name} epoch {epoch}", total=n_batches,
                       disable=rank != 0 or None)
        steps = 0
        for b in bar:
            idx = perm[b * batch : (b + 1) * batch]
            local = local_rows(idx, rank, world)
            if local is None:  # a last batch too small to give every process a row
                continue
            out = method.step(local)
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + v
            seen += len(idx)
            steps += 1
        train_time = time.perf_counter() - t0
        t1 = time.perf_counter()
        valid, selected = validate()
        eval_time = time.perf_counter() - t1
        improved = stopper.update(epoch, selected)
        if improved and rank == 0:
            run_dir.save_checkpoint({"epoch": epoch, "model": model.state_dict()}, "best.pt")
        record = {"epoch": epoch, **{k: v / max(steps, 1) for k, v in sums.items()},
                  **valid,
                  "train_seconds": train_time, "train_seq_per_s": seen / max(train_time, 1e-9),
                  "eval_seconds": eval_time, "eval_users_per_s": data.n_users / max(eval_time, 1e-9)}
        stopped = stopper.should_stop
        if rank == 0:
            run_dir.log(record)
            _say(f"epoch {epoch}: loss {record.get('loss', float('nan')):.4f}  "
                 f"{metric_key} {selected:.4f}  valid_hr@10 {valid['valid_hr@10']:.4f}  "
                 f"({train_time:.0f}s train, {seen / max(train_time, 1e-9):.0f} seq/s)")
        # every rank joins the gather of the generator states; rank 0 alone writes
        run_dir.save_progress({
            "epoch": epoch, "stopped": stopped, "model": model.state_dict(),
            "method": method.state_dict(), "generator": g.get_state(),
            "aug_generator": _all_generator_states(aug_gen), "rng": capture_rng(),
            "early_stopping": stopper.state_dict(),
        }, done=epoch + 1, extendable=not stopped, reason="it stopped early" if stopped else "")
        if stopped:
            _say(f"[concord] early stop: no {metric_key} improvement for {cfg.train.patience} epochs")

    if rank != 0:  # rank 0 alone tests and reports
        return {}
    best = run_dir.load_checkpoint("best.pt")
    if best is not None:
        model.load_state_dict(best["model"])
    _say(f"testing the model of epoch {stopper.best_epoch} (best {metric_key})" if best is not None
         else "testing the untrained model (no epoch was trained)")
    report, details = test_report(model, data, exclude_history=ev.exclude_history, batch_size=ev.batch_size,
                                  negatives=negatives, best_epoch=stopper.best_epoch)
    run_dir.plot_metrics(["loss", "valid_ndcg@10", "valid_hr@10", "valid_mrr"], "learning_curve.png")
    summary = {"method": cfg.method.name, "epochs_run": len(run_dir.metrics()),
               "stopped_early": stopped, f"best_{metric_key}": stopper.best,
               **details, "dataset": loaded.summary, "world_size": world}
    atomic_write_text(run_dir.file("run_summary.json"), json.dumps(summary, indent=2) + "\n")
    return report


def _all_generator_states(gen: torch.Generator) -> list[torch.Tensor]:
    """Every process's augmentation-generator state (rank order), so a resume restores all."""
    state = gen.get_state()
    if not distributed.is_distributed():
        return [state]
    import torch.distributed as dist

    out: list[Any] = [None] * distributed.world_size()
    dist.all_gather_object(out, state)
    return out
