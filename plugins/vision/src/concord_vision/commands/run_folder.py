"""The output folder of a ``concord vision`` run, and what ``--resume`` may change."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from mmengine.config import Config

from concord.errors import ConfigError
from concord.run import Progress, RunDir, flatten, plan_resume, say

__all__ = ["BUDGET_KEYS", "attach_run_folder", "checkpoint_iter", "choose_output", "latest_checkpoint",
           "open_run_folder"]

#: What may differ between a run and its ``--resume`` without being a different run (the budget
#: -- which the resume rule then judges -- and where mmengine writes).
BUDGET_KEYS = ("train_cfg.max_iters", "max_iters", "work_dir", "resume", "load_from", "launcher",
               "device", "threads")


def choose_output(config: str, output: str | None, resume: bool, root: str = "runs") -> Path:
    """``--output``, or ``runs/<config name>/<date-time>``; ``--resume`` alone continues the
    newest run of that config."""
    if output:
        return Path(output)
    name = Path(config).stem
    if resume:
        runs = sorted(p for p in (Path(root) / name).glob("*") if (p / "config.py").exists())
        if not runs:
            raise ConfigError(f"--resume: no earlier run under {Path(root) / name}; pass --output")
        return runs[-1]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out, n = Path(root) / name / stamp, 1
    while out.exists():
        n += 1
        out = Path(root) / name / f"{stamp}-{n}"
    return out


def _comparable(cfg: dict[str, Any]) -> dict[str, Any]:
    flat = flatten(cfg)
    schedules = flat.get("param_scheduler")
    if isinstance(schedules, (list, tuple)):  # their ends follow the budget
        flat["param_scheduler"] = [{k: v for k, v in dict(s).items() if k != "end"} for s in schedules]
    return {k: v for k, v in flat.items() if k not in BUDGET_KEYS}


def latest_checkpoint(work_dir: Path) -> Path | None:
    """The checkpoint mmengine's ``last_checkpoint`` file points to, if any."""
    pointer = work_dir / "last_checkpoint"
    if not pointer.is_file():
        return None
    path = Path(pointer.read_text().strip())
    return path if path.is_file() else None


def checkpoint_iter(path: Path) -> int:
    """The iteration of an mmengine checkpoint: ``iter_<n>.pth`` by name, else its ``meta``."""
    match = re.fullmatch(r"iter_(\d+)\.pth", path.name)
    if match:
        return int(match.group(1))
    from concord_vision.checkpoints import load_weights

    return int(load_weights(path).get("meta", {}).get("iter", 0))


def _progress(output: Path, checkpoint: Path, saved_budget: int, run_dir: RunDir) -> Progress:
    """Where an mmengine run stands, in the core's resume terms: the checkpoint's iteration,
    the budget the run started with, finished when its report was written at that budget. It is
    never extendable: mmengine restores each LR scheduler's ``end`` from the checkpoint, so a
    raised budget would train on at the schedule's final learning rate."""
    done = checkpoint_iter(checkpoint)
    rows = sum(1 for r in run_dir.metrics() if _kept(r, done))
    return Progress(unit="step", done=done, budget=saved_budget,
                    finished=(output / "report.json").is_file() and done >= saved_budget,
                    extendable=False, metrics_rows=rows,
                    reason="its learning-rate schedule was fixed to the budget it started with")


def _kept(row: dict, done: int) -> bool:
    """A metrics row an interrupted run had written by its checkpoint at iteration ``done``."""
    it = int(row.get("iter", 0))
    return it < done or (it == done and "split" not in row)


def attach_run_folder(cfg: Config, output: Path, *, resuming: bool) -> RunDir:
    """A rank other than 0 joins the folder rank 0 opened: a read-only :class:`RunDir`, the same
    ``work_dir``, and rank 0's decision whether mmengine resumes."""
    cfg.work_dir = str((output / "checkpoints").resolve())
    cfg.load_from = None
    cfg.resume = bool(resuming)
    return RunDir(output, resume=True, writer=False)


def open_run_folder(cfg: Config, output: Path, *, resume: bool) -> RunDir:
    """Open the run folder and save the resolved ``config.py``; point mmengine's ``work_dir`` at
    ``<output>/checkpoints`` and tell it whether to resume.

    ``--resume`` follows the core's one rule (:func:`concord.run.plan_resume`): the config must
    equal the saved one except for the budget, the run continues from its last checkpoint when
    it had not finished, a finished run or a changed budget is refused with what to do instead,
    and ``metrics.jsonl`` is cut back to the checkpoint. A folder without a checkpoint starts
    over. Rank 0 only (the others use :func:`attach_run_folder`).
    """
    saved = output / "config.py"
    if resume and not saved.is_file():
        raise ConfigError(f"--resume: there is no run in {str(output)!r} to resume (no config.py "
                          "there); check the folder, or drop --resume to start a new run")
    if not resume and saved.exists():
        raise ConfigError(f"{str(output)!r} already holds a run; pass --resume to continue it "
                          "or --output to write a new one")
    saved_budget = None
    if resume:
        before_cfg = Config.fromfile(str(saved))
        saved_budget = int(before_cfg.train_cfg.max_iters)
        before, now = _comparable(before_cfg.to_dict()), _comparable(cfg.to_dict())
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        if changed:
            raise ConfigError(f"cannot resume {str(output)!r} with a different configuration "
                              f"(changed: {', '.join(changed)}); only the budget (train.steps) "
                              "may differ")
    run_dir = RunDir(output, resume=True)  # config.py is checked above
    cfg.work_dir = str((output / "checkpoints").resolve())
    cfg.load_from = None
    cfg.resume = False
    checkpoint = latest_checkpoint(output / "checkpoints") if resume else None
    if resume and checkpoint is None:
        run_dir.start_over()
        say(f"no checkpoint in {output}: starting the run over there (its old metrics are cleared)")
    elif resume and checkpoint is not None:
        progress = _progress(output, checkpoint, saved_budget, run_dir)
        message = plan_resume(progress, "train.steps", int(cfg.train_cfg.max_iters), output)
        done = progress.done
        run_dir.keep_metrics(lambda row: _kept(row, done))
        cfg.resume = True
        say(message)
    cfg.dump(str(saved))
    return run_dir
