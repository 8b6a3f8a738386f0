"""``concord <domain> evaluate RUN`` -- the start-up every plugin's ``evaluate`` shares.

A finished (or interrupted) run folder holds its resolved ``config.yaml`` and its saved models
under ``checkpoints/``. ``evaluate`` re-runs the plugin's evaluation on a saved model and writes
the same report keys ``train`` wrote, to ``RUN/evaluation.json`` (or ``--output``), never over
``report.json``:

1. ``RUN`` is a run folder, or a checkpoint inside its ``checkpoints/`` (then that model is
   evaluated instead of the plugin's default one);
2. the config is the run's ``config.yaml`` with ``--set key=value`` overrides (a moved data set:
   ``--set data.root=...``; another evaluation setting: ``--set eval....``);
3. ``train.device`` is resolved as for training (``--set train.device=cpu`` to move a GPU run);
4. the plugin's ``evaluate(evaluation)`` returns the report, written atomically (non-finite
   numbers become ``null``) and printed.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import torch

from concord.errors import CheckpointError, ConfigError
from concord.run.command import say
from concord.run.config import config_to_dict, load_config
from concord.run.files import atomic_write_text
from concord.run.rundir import _jsonable, flatten

__all__ = ["Evaluation", "add_evaluate_arguments", "locate_run", "run_evaluation"]

C = TypeVar("C")


@dataclass
class Evaluation(Generic[C]):
    """What a plugin's ``evaluate`` gets.

    Attributes:
        config: the run's config (with the ``--set`` overrides).
        run_dir: the run folder.
        checkpoint: the checkpoint given on the command line, or ``None`` (the plugin's default).
        device: the resolved ``train.device``.
    """

    config: C
    run_dir: Path
    checkpoint: Path | None
    device: torch.device


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run folder, or a checkpoint in its checkpoints/ folder")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a value of the run's config.yaml, e.g. --set data.root=PATH",
    )
    parser.add_argument("--output", "-o", default=None,
                        help="where to write the report (default: RUN/evaluation.json)")


def locate_run(path: str | Path) -> tuple[Path, Path | None]:
    """``(run folder, checkpoint or None)`` for a run folder or a checkpoint file inside one."""
    path = Path(path)
    if path.is_file():
        run = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        if not (run / "config.yaml").is_file():
            raise ConfigError(f"{str(path)!r} is not a checkpoint of a run folder (no config.yaml in {str(run)!r})")
        return run, path
    if not path.exists():
        raise ConfigError(f"{str(path)!r} does not exist: give a run folder or one of its checkpoints")
    if not (path / "config.yaml").is_file():
        raise ConfigError(f"there is no run in {str(path)!r} (no config.yaml there)")
    return path, None


def run_evaluation(
    args: argparse.Namespace,
    schema: type[C] | Callable[[Path, Sequence[str]], type[C]],
    evaluate: Callable[[Evaluation[C]], Mapping[str, Any]],
) -> int:
    """Steps 1-4 of the module docstring; ``schema`` is the run config's dataclass, or a function
    of ``(config.yaml, overrides)`` choosing it. Returns 0."""
    from concord.devices import resolve_device

    run_dir, checkpoint = locate_run(args.run)
    config_path = run_dir / "config.yaml"
    cls = schema if isinstance(schema, type) else schema(config_path, list(args.overrides))
    cfg = load_config(cls, config_path, args.overrides)
    device = resolve_device(str(flatten(config_to_dict(cfg)).get("train.device", "cpu")))
    if checkpoint is not None and checkpoint.suffix != ".pt":
        raise CheckpointError(f"{str(checkpoint)!r} is not a checkpoint (.pt)")
    say(f"evaluating {checkpoint or run_dir}")
    report = _jsonable(flatten(dict(evaluate(Evaluation(cfg, run_dir, checkpoint, device)))))
    output = Path(args.output) if args.output else run_dir / "evaluation.json"
    atomic_write_text(output, json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(json.dumps(report, indent=2, sort_keys=True))
    say(f"evaluation written to {output}")
    return 0
