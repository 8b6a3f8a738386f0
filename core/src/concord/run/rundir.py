"""The output folder of one training run, shared by every plugin's CLI.

Layout::

    <output>/
        config.yaml        the resolved configuration (defaults + file + --set)
        metrics.jsonl      one JSON object per line (step / epoch, losses, metrics)
        report.json        final metrics as flat keys
        checkpoints/       last.pt (and best.pt where a run keeps one), written atomically
        *.png              plots (loss curves, embeddings, sample grids)

Resuming (``--resume``): the resolved configuration must equal the saved one except for the
budget keys (``train.epochs`` / ``train.steps``); ``last.pt`` carries the run's
:class:`~concord.run.resume.Progress`, and ``metrics.jsonl`` is cut back to the lines that
checkpoint had seen, so a resumed run writes the same lines an uninterrupted one would (the rule:
:mod:`concord.run.resume`).

Under ``torchrun`` only rank 0 writes: the other ranks open the folder with ``writer=False``,
which makes every write a no-op while reads (the checkpoint to resume) work.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from concord.errors import ConfigError
from concord.run.checkpoint import load_checkpoint, load_checkpoint_progress, save_checkpoint
from concord.run.files import atomic_write_text, remove_stale_temporaries
from concord.run.resume import Progress

__all__ = ["BUDGET_KEYS", "RunDir", "flatten"]

#: Keys that may differ between a run and its resumption (extending the training budget).
BUDGET_KEYS: tuple[str, ...] = ("train.epochs", "train.steps")


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):  # torch / numpy scalars
        try:
            value = value.item()
        except (ValueError, RuntimeError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN / inf: null (a string "nan" would pass for a value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class RunDir:
    """One run's output folder.

    Args:
        path: the folder.
        resume: continue a run already there. Without it, a folder that already holds a run
            (a ``config.yaml``) is refused, so nothing written before is overwritten.
        writer: this process writes the folder (rank 0); ``False`` makes every write a no-op.
    """

    def __init__(self, path: str | Path, *, resume: bool = False, writer: bool = True) -> None:
        self.path = Path(path)
        self.resume = resume
        self.writer = writer
        #: ``(key, value)`` of the run's budget (``("train.epochs", 200)``), set by ``start_run``
        self.budget: tuple[str, int] | None = None
        if not writer:
            self._rows = 0
            return
        if not resume and (self.path / "config.yaml").exists():
            raise ConfigError(
                f"{str(self.path)!r} already holds a run; pass --resume to continue it or "
                "--output to write a new one"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoint_dir.mkdir(exist_ok=True)
        # temporaries of atomic writes that a kill (SIGKILL, power cut) interrupted
        remove_stale_temporaries(self.path)
        remove_stale_temporaries(self.checkpoint_dir)
        self._rows = len(self.metrics())

    # -- paths -----------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def report_path(self) -> Path:
        return self.path / "report.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    def file(self, name: str) -> Path:
        return self.path / name

    # -- config ----------------------------------------------------------------------------
    def check_config(self, config: Mapping[str, Any]) -> None:
        """On resume, check ``config`` equals the saved one except for the budget keys."""
        from concord.run.config import read_yaml

        if self.resume and self.config_path.exists():
            saved = flatten(read_yaml(self.config_path))
            now = flatten(dict(config))
            changed = sorted(
                k for k in set(saved) | set(now)
                if saved.get(k) != now.get(k) and k not in BUDGET_KEYS
            )
            if changed:
                desc = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
                raise ConfigError(
                    f"cannot resume {str(self.path)!r} with a different configuration ({desc}); "
                    f"only {', '.join(BUDGET_KEYS)} may change on resume"
                )

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Save the resolved config (on resume, after :meth:`check_config` passes)."""
        from concord.run.config import dump_yaml

        self.check_config(config)
        if self.writer:
            dump_yaml(config, self.config_path)

    # -- metrics ---------------------------------------------------------------------------
    def log(self, record: Mapping[str, Any]) -> None:
        """Append one JSON line to ``metrics.jsonl`` (flushed and synced at once)."""
        if not self.writer:
            return
        line = json.dumps(_jsonable(dict(record)), sort_keys=False)
        self._rows += 1
        with open(self.metrics_path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def metrics(self) -> list[dict[str, Any]]:
        """Every line of ``metrics.jsonl`` (a torn last line from a kill is skipped)."""
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def keep_metrics(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite ``metrics.jsonl`` keeping only the rows where ``keep(row)`` is true."""
        if not self.writer:
            return
        rows = [r for r in self.metrics() if keep(r)]
        self._write_rows(rows)

    def truncate_metrics(self, rows: int) -> None:
        """Keep the first ``rows`` lines of ``metrics.jsonl`` (what a checkpoint had seen)."""
        if not self.writer:
            return
        self._write_rows(self.metrics()[:rows])

    def _write_rows(self, rows: list[dict[str, Any]]) -> None:
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))
        self._rows = len(rows)

    def start_over(self) -> None:
        """Remove what an earlier attempt in this folder wrote (metrics, report, checkpoints),
        so a run started over here does not append to stale lines."""
        if not self.writer:
            return
        for p in (self.metrics_path, self.report_path, self.checkpoint_dir / "last.pt"):
            if p.exists():
                p.unlink()
        self._rows = 0

    # -- report ----------------------------------------------------------------------------
    def write_report(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """Write final metrics as flat keys to ``report.json``; returns what was written.

        Non-finite numbers become JSON ``null``."""
        flat = _jsonable(flatten(dict(report)))
        if self.writer:
            atomic_write_text(self.report_path, json.dumps(flat, indent=2, sort_keys=True) + "\n")
        return flat

    # -- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any], name: str = "last.pt") -> Path:
        """Write ``checkpoints/<name>`` atomically (use :meth:`save_progress` for ``last.pt``)."""
        path = self.checkpoint_dir / name
        if self.writer:
            save_checkpoint(state, path)
        return path

    def save_progress(self, state: dict[str, Any], *, done: int, finished: bool = False,
                      extendable: bool = True, reason: str = "") -> Path:
        """Write ``checkpoints/last.pt``: the trainer's ``state`` after ``done`` epochs / steps,
        with the :class:`~concord.run.resume.Progress` that ``--resume`` reads.

        Args:
            done: units (epochs or steps, whichever the run's budget counts) completed.
            finished: the run is complete (normally set by :meth:`mark_finished` once the report
                is written).
            extendable: a raised budget may continue from this state (``False``, e.g., once
                finished repeats were evaluated at the old budget).
            reason: why it is not extendable, shown when a resume is refused.
        """
        path = self.checkpoint_dir / "last.pt"
        if not self.writer:
            return path
        if self.budget is None:
            raise RuntimeError("RunDir.save_progress needs the run's budget (set by start_run)")
        key, value = self.budget
        progress = Progress(unit=key.rsplit(".", 1)[-1].rstrip("s"), done=int(done), budget=int(value),
                            finished=finished, extendable=extendable, metrics_rows=self._rows,
                            reason=reason)
        save_checkpoint(state, path, progress=progress.as_dict())
        return path

    def mark_finished(self) -> None:
        """Record in ``last.pt`` that the run completed (after its report was written), so a
        ``--resume`` with the same budget is refused as "already finished"."""
        path = self.checkpoint_dir / "last.pt"
        if not self.writer or not path.exists():
            return
        state, progress = load_checkpoint_progress(path)
        if progress is None:
            return
        save_checkpoint(state, path, progress=Progress.from_dict(progress, path).finish().as_dict())

    def load_checkpoint(self, name: str = "last.pt") -> dict[str, Any] | None:
        """The checkpoint ``name`` if it exists (``None`` otherwise); corrupt files raise."""
        path = self.checkpoint_dir / name
        if not path.exists():
            return None
        return load_checkpoint(path)

    # -- plots -----------------------------------------------------------------------------
    def plot_metrics(self, keys: Iterable[str], name: str = "curves.png", *, x: str = "epoch") -> Path:
        from concord.run.plots import plot_curves

        out = self.file(name)
        if self.writer:
            plot_curves(self.metrics(), list(keys), out, x=x)
        return out
