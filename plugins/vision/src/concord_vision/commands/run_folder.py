"""The output folder of a ``concord vision`` run, and what ``--resume`` may change."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from mmengine.config import Config

from concord.errors import ConfigError
from concord.run import RunDir, flatten

__all__ = ["BUDGET_KEYS", "checkpoint_iter", "choose_output", "latest_checkpoint", "open_run_folder"]

#: What may differ between a run and its ``--resume`` (a longer budget; where it runs).
BUDGET_KEYS = ("train_cfg.max_iters", "max_iters", "work_dir", "resume", "load_from", "launcher")


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


def open_run_folder(cfg: Config, output: Path, *, resume: bool, write: bool) -> RunDir:
    """Check (``--resume``: same config except :data:`BUDGET_KEYS`) and write the resolved
    ``config.py``; point mmengine's ``work_dir`` at ``<output>/checkpoints``. With ``write`` false
    (ranks other than 0) nothing is written."""
    saved = output / "config.py"
    if write:
        if not resume and saved.exists():
            raise ConfigError(f"{str(output)!r} already holds a run; pass --resume to continue it "
                              "or --output to write a new one")
        if resume and saved.exists():
            before, now = _comparable(Config.fromfile(str(saved)).to_dict()), _comparable(cfg.to_dict())
            changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
            if changed:
                raise ConfigError(f"cannot resume {str(output)!r} with a different configuration "
                                  f"(changed: {', '.join(changed)}); only the budget "
                                  "(train.steps / train_cfg.max_iters) may change")
    run_dir = RunDir(output, resume=True)  # the config.py check above replaces RunDir's own
    cfg.work_dir = str(run_dir.checkpoint_dir.resolve())
    checkpoint = latest_checkpoint(run_dir.checkpoint_dir)
    cfg.resume = bool(resume and checkpoint is not None)
    cfg.load_from = None
    if write:
        cfg.dump(str(saved))
        if resume and checkpoint is not None:
            done = checkpoint_iter(checkpoint)
            run_dir.keep_metrics(lambda row: (int(row.get("iter", 0)) <= done and "split" not in row)
                                 or int(row.get("iter", 0)) < done)
    return run_dir
