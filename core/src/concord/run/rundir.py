"""The output folder of one training run, shared by every plugin's CLI.

Layout::

    <output>/
        config.yaml        the resolved configuration (defaults + file + --set)
        metrics.jsonl      one JSON object per line (step / epoch, losses, metrics)
        report.json        final metrics as flat keys
        checkpoints/       last.pt (and best.pt where a run keeps one), written atomically
        *.png              plots (loss curves, embeddings, sample grids)

Resuming (``--resume``): the resolved configuration must equal the saved one except for the
budget keys (``train.epochs`` / ``train.steps``), and ``metrics.jsonl`` is cut back to the
checkpoint's step, so a resumed run writes the same lines an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from concord.registry import ConfigError
from concord.run.checkpoint import load_checkpoint, save_checkpoint
from concord.run.files import atomic_write_text

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
        return str(value)  # JSON has no NaN / inf; keep them visible rather than dropping
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
    """

    def __init__(self, path: str | Path, *, resume: bool = False) -> None:
        self.path = Path(path)
        self.resume = resume
        if not resume and (self.path / "config.yaml").exists():
            raise ConfigError(
                f"{str(self.path)!r} already holds a run; pass --resume to continue it or "
                "--output to write a new one"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.checkpoint_dir.mkdir(exist_ok=True)

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
    def write_config(self, config: Mapping[str, Any]) -> None:
        """Save the resolved config; on resume, check it matches the saved one."""
        from concord.run.config import dump_yaml, read_yaml

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
        dump_yaml(config, self.config_path)

    # -- metrics ---------------------------------------------------------------------------
    def log(self, record: Mapping[str, Any]) -> None:
        """Append one JSON line to ``metrics.jsonl`` (flushed and synced at once)."""
        line = json.dumps(_jsonable(dict(record)), sort_keys=False)
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
        rows = [r for r in self.metrics() if keep(r)]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))

    # -- report ----------------------------------------------------------------------------
    def write_report(self, report: Mapping[str, Any]) -> dict[str, Any]:
        """Write final metrics as flat keys to ``report.json``; returns what was written."""
        flat = _jsonable(flatten(dict(report)))
        atomic_write_text(self.report_path, json.dumps(flat, indent=2, sort_keys=True) + "\n")
        return flat

    # -- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any], name: str = "last.pt") -> Path:
        path = self.checkpoint_dir / name
        save_checkpoint(state, path)
        return path

    def load_checkpoint(self, name: str = "last.pt") -> dict[str, Any] | None:
        """The checkpoint ``name`` if it exists (``None`` otherwise); corrupt files raise."""
        path = self.checkpoint_dir / name
        if not path.exists():
            return None
        return load_checkpoint(path)

    def resume_state(self, name: str = "last.pt") -> dict[str, Any] | None:
        """On ``--resume``, the checkpoint to continue from; ``None`` for a fresh start."""
        return self.load_checkpoint(name) if self.resume else None

    # -- plots -----------------------------------------------------------------------------
    def plot_metrics(self, keys: Iterable[str], name: str = "curves.png", *, x: str = "epoch") -> Path:
        from concord.run.plots import plot_curves

        out = self.file(name)
        plot_curves(self.metrics(), list(keys), out, x=x)
        return out
