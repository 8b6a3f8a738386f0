"""What every plugin's training CLI shares: arguments, run start-up, and error reporting.

``concord <domain> train CONFIG [--set key=value ...] [--output DIR] [--resume]`` -- a plugin
adds these arguments with :func:`add_train_arguments`, turns them into a :class:`Run` with
:func:`start_run`, and wraps its ``main`` in :func:`report_errors` so that bad input ends in
one clear line on stderr and exit status 2, not a traceback.

Configuration conventions (checked for every plugin by
:func:`concord.testing.check_run_schema`): a top-level ``seed``; a ``data`` section with ``root``
(and ``name`` where a plugin reads several data sets); a ``train`` section with ``epochs`` or
``steps``. So ``--set data.root=PATH``, ``--set seed=N`` and ``--set train.epochs=N`` work the
same in every plugin.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from concord.registry import ConfigError, PluginImportError
from concord.run.checkpoint import CheckpointError
from concord.run.config import config_to_dict, load_config
from concord.run.rundir import RunDir

__all__ = ["Run", "add_train_arguments", "report_errors", "start_run"]

C = TypeVar("C")


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


@dataclass
class Run(Generic[C]):
    """A started run: its resolved config, output folder, and the state to resume (or None)."""

    config: C
    dir: RunDir
    resume_state: dict[str, Any] | None


def start_run(
    args: argparse.Namespace,
    schema: type[C],
    *,
    output_root: str | Path = "runs",
    default_name: str = "run",
) -> Run[C]:
    """Resolve the config, open the output folder, save ``config.yaml``, load the checkpoint.

    The output folder is ``--output``, else a new ``<output_root>/<name>/<date-time>`` where
    ``name`` is the config file's stem (``default_name`` without a config file). ``--resume``
    without ``--output`` continues the newest folder under ``<output_root>/<name>``.
    """
    cfg = load_config(schema, args.config, args.overrides)
    name = Path(args.config).stem if args.config else default_name
    if args.output:
        output = Path(args.output)
    elif args.resume:
        runs = sorted(p for p in (Path(output_root) / name).glob("*") if (p / "config.yaml").exists())
        if not runs:
            raise ConfigError(f"--resume: no earlier run under {Path(output_root) / name}; pass --output")
        output = runs[-1]
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        output = Path(output_root) / name / stamp
        suffix = 1
        while output.exists():
            suffix += 1
            output = Path(output_root) / name / f"{stamp}-{suffix}"
    run_dir = RunDir(output, resume=bool(args.resume))
    run_dir.write_config(config_to_dict(cfg))
    state = run_dir.resume_state()
    if args.resume and state is None:
        print(f"[concord] no checkpoint in {output}; starting from scratch", file=sys.stderr)
    return Run(cfg, run_dir, state)


def report_errors(main: Callable[..., int]) -> Callable[..., int]:
    """Turn configuration, input and checkpoint errors into one line on stderr, exit status 2."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return main(*args, **kwargs)
        except (ConfigError, CheckpointError, PluginImportError, ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    return wrapper
