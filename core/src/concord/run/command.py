"""What every plugin's training CLI shares: arguments, run start-up, and error reporting.

``concord <domain> train CONFIG [--set key=value ...] [--output DIR] [--resume]`` -- a plugin
adds these arguments with :func:`add_train_arguments` and hands its training function to
:func:`run_training`, which does the whole start-up the same way in every plugin:

1. load the config strictly (:func:`~concord.run.load_config`; components by name);
2. resolve ``train.device`` (:func:`concord.devices.resolve_device`) and, under ``torchrun`` /
   ``accelerate launch``, join the process group with the backend that device needs
   (:func:`concord.distributed.launched`);
3. on rank 0 open the output folder, apply the resume rule (:mod:`concord.run.resume`) and
   save ``config.yaml``; tell every other rank the folder, which they open read-only;
4. call ``train(run)`` on every rank, write the returned report to ``report.json`` on rank 0,
   mark the run finished in its checkpoint, and print the report.

Wrap the CLI's ``main`` in :func:`report_errors`: a :class:`~concord.errors.UserError` (bad
config, missing data, bad input, corrupt checkpoint, missing plugin framework, a device this
machine lacks) ends in one line on stderr and exit status 2; Ctrl-C ends in one line saying how
to continue (exit 130); anything else is a bug and keeps its traceback, followed by a line
asking to report it (exit 1).

Configuration conventions (checked for every plugin by
:func:`concord.testing.check_run_schema`): a top-level ``seed``; a ``data`` section with ``root``
(and ``name`` where a plugin reads several data sets); a ``train`` section with ``epochs`` or
``steps`` and ``device``. So ``--set data.root=PATH``, ``--set seed=N``,
``--set train.epochs=N`` and ``--set train.device=cuda`` work the same in every plugin.
"""

from __future__ import annotations

import argparse
import contextvars
import dataclasses
import functools
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

import torch

from concord.errors import ConfigError, UserError
from concord.run.checkpoint import load_checkpoint_progress
from concord.run.config import config_to_dict, load_config
from concord.run.resume import Progress, plan_resume
from concord.run.rundir import BUDGET_KEYS, RunDir, flatten

__all__ = ["Run", "add_train_arguments", "report_errors", "run_training", "say", "start_run"]

C = TypeVar("C")

#: The folder of the run this process is training (for the hint after Ctrl-C).
_ACTIVE_RUN: contextvars.ContextVar[Path | None] = contextvars.ContextVar("concord_active_run", default=None)


def say(message: str) -> None:
    """One status line on stderr from rank 0 (``[concord] ...``), flushed at once."""
    if os.environ.get("RANK", "0") == "0":
        print(f"[concord] {message}", file=sys.stderr, flush=True)


def add_train_arguments(parser: argparse.ArgumentParser, *, config_required: bool = True) -> None:
    if config_required:
        parser.add_argument("config", help="YAML configuration file")
    else:
        parser.add_argument("config", nargs="?", default=None,
                            help="YAML configuration file (default: the built-in defaults)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.epochs=5 --set data.root=../data",
    )
    parser.add_argument(
        "--output", "-o", default=None,
        help="output folder (default: runs/<config file name>/<date-time>)",
    )
    parser.add_argument(
        "--resume", action="store_true",
        help="continue the run in --output (default: the newest run of this config) from its "
        "last checkpoint",
    )


@dataclasses.dataclass
class Run(Generic[C]):
    """A started run.

    Attributes:
        config: the resolved config.
        dir: the output folder (on ranks other than 0 a read-only view: writes are no-ops).
        resume_state: the trainer's state to continue from, or ``None`` for a fresh start.
        progress: where that state stands (``None`` for a fresh start).
        device: the resolved ``train.device``.
        rank, world_size: this process in the process group (``0``, ``1`` without one).
    """

    config: C
    dir: RunDir
    resume_state: dict[str, Any] | None
    progress: Progress | None = None
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _budget(cfg: Any) -> tuple[str, int]:
    flat = flatten(config_to_dict(cfg))
    for key in BUDGET_KEYS:
        if key in flat and isinstance(flat[key], int):
            return key, int(flat[key])
    raise ConfigError(f"the run config has none of the budget keys {', '.join(BUDGET_KEYS)}")


def _device_spec(cfg: Any) -> str:
    return str(flatten(config_to_dict(cfg)).get("train.device", "cpu"))


def _output_folder(args: argparse.Namespace, output_root: str | Path, default_name: str) -> Path:
    name = Path(args.config).stem if args.config else default_name
    if args.output:
        return Path(args.output)
    if args.resume:
        runs = sorted(p for p in (Path(output_root) / name).glob("*") if (p / "config.yaml").exists())
        if not runs:
            raise ConfigError(f"--resume: no earlier run under {Path(output_root) / name}; pass --output")
        return runs[-1]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    output = Path(output_root) / name / stamp
    suffix = 1
    while output.exists():
        suffix += 1
        output = Path(output_root) / name / f"{stamp}-{suffix}"
    return output


def start_run(
    args: argparse.Namespace,
    schema: type[C],
    *,
    output_root: str | Path = "runs",
    default_name: str = "run",
    config: C | None = None,
) -> Run[C]:
    """Resolve the config, open the output folder, apply the resume rule, save ``config.yaml``.

    The output folder is ``--output``, else a new ``<output_root>/<name>/<date-time>`` where
    ``name`` is the config file's stem (``default_name`` without a config file). ``--resume``
    without ``--output`` continues the newest folder under ``<output_root>/<name>``; ``--resume``
    with an ``--output`` that holds no run is an error (a mistyped folder must not silently
    start a new run). What ``--resume`` does with the checkpoint: :mod:`concord.run.resume`.
    Nothing in the folder is rewritten before the resume is known to go ahead.
    """
    cfg = config if config is not None else load_config(schema, args.config, args.overrides)
    budget_key, budget = _budget(cfg)
    output = _output_folder(args, output_root, default_name)
    if args.resume and not (output / "config.yaml").is_file():
        raise ConfigError(
            f"--resume: there is no run in {str(output)!r} to resume (no config.yaml there); check "
            "the folder, or drop --resume to start a new run"
        )
    run_dir = RunDir(output, resume=bool(args.resume))
    run_dir.budget = (budget_key, budget)
    resolved = config_to_dict(cfg)
    run_dir.check_config(resolved)
    state, progress = None, None
    if args.resume:
        last = run_dir.checkpoint_dir / "last.pt"
        if last.exists():
            state, raw = load_checkpoint_progress(last)
            progress = Progress.from_dict(raw, last)
            message = plan_resume(progress, budget_key, budget, output)
            run_dir.truncate_metrics(progress.metrics_rows)
            say(message)
        else:
            run_dir.start_over()
            say(f"no checkpoint in {output}: starting the run over there (its old metrics are cleared)")
    run_dir.write_config(resolved)
    _ACTIVE_RUN.set(run_dir.path)
    return Run(cfg, run_dir, state, progress, device=torch.device("cpu"))


def _broadcast(obj: Any) -> Any:
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def run_training(
    args: argparse.Namespace,
    schema: type[C],
    train: Callable[[Run[C]], Mapping[str, Any]],
    *,
    default_name: str = "run",
    output_root: str | Path = "runs",
    print_report: bool = True,
) -> int:
    """The start-up every training CLI shares (steps 1-4 of the module docstring); returns 0.

    ``train(run)`` runs on every process and returns the report (rank 0's is written; the
    others may return ``{}``). It saves its resumable state with
    ``run.dir.save_progress(state, done=...)``.
    """
    from concord.devices import resolve_device
    from concord.distributed import launched

    cfg = load_config(schema, args.config, args.overrides)
    device = resolve_device(_device_spec(cfg))
    with launched(device) as (rank, world):
        if rank == 0:
            try:
                run = start_run(args, schema, output_root=output_root, default_name=default_name, config=cfg)
            except UserError as exc:
                if world > 1:
                    _broadcast(("error", f"{exc}"))
                raise
            if world > 1:
                _broadcast(("ok", str(run.dir.path), run.resume_state is not None))
        else:
            told = _broadcast(None)
            if told[0] == "error":
                raise ConfigError(f"rank 0 could not start the run: {told[1]}")
            run_dir = RunDir(told[1], resume=True, writer=False)
            run_dir.budget = _budget(cfg)
            state, progress = None, None
            if told[2]:
                state, raw = load_checkpoint_progress(run_dir.checkpoint_dir / "last.pt")
                progress = Progress.from_dict(raw, run_dir.checkpoint_dir / "last.pt")
            run = Run(cfg, run_dir, state, progress)
        run.device, run.rank, run.world_size = device, rank, world
        report = train(run)
        if rank == 0:
            written = run.dir.write_report(report)
            run.dir.mark_finished()
            if print_report:
                print(json.dumps(written, indent=2))
            say(f"run written to {run.dir.path}")
    return 0


def report_errors(main: Callable[..., int]) -> Callable[..., int]:
    """User errors in one line (exit 2), Ctrl-C in one line with the way to continue (exit 130),
    anything else with its traceback and a request to report it (exit 1)."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        where = "" if os.environ.get("RANK", "0") == "0" else f"[rank {os.environ['RANK']}] "
        token = _ACTIVE_RUN.set(None)
        try:
            return main(*args, **kwargs)
        except UserError as exc:
            print(f"{where}error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            folder = _ACTIVE_RUN.get()
            hint = (f"; its last checkpoint is kept: continue with the same command plus "
                    f"--resume -o {folder}" if folder is not None else "")
            print(f"\n{where}interrupted{hint}", file=sys.stderr)
            return 130
        except Exception:
            traceback.print_exc()
            print(f"{where}error: this is a bug in concord or one of its plugins, not in your "
                  "input; please report it with the traceback above", file=sys.stderr)
            return 1
        finally:
            _ACTIVE_RUN.reset(token)

    return wrapper
