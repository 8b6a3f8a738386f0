"""Run conventions shared by every plugin's training CLI (configs, output folder, checkpoints,
metrics, plots, progress bars, seeding). Needs the ``run`` extra: ``pip install 'concord[run]'``."""

from concord.run.checkpoint import (
    CheckpointError,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from concord.run.command import Run, add_train_arguments, report_errors, start_run
from concord.run.config import (
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_config,
    read_yaml,
)
from concord.run.files import atomic_write, atomic_write_bytes, atomic_write_text
from concord.run.progress import progress
from concord.run.rundir import BUDGET_KEYS, RunDir, flatten
from concord.run.seed import seed_everything

__all__ = [
    "BUDGET_KEYS",
    "CheckpointError",
    "Run",
    "RunDir",
    "add_train_arguments",
    "apply_overrides",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "capture_rng",
    "config_from_dict",
    "config_to_dict",
    "flatten",
    "load_checkpoint",
    "load_config",
    "progress",
    "read_yaml",
    "report_errors",
    "restore_rng",
    "save_checkpoint",
    "seed_everything",
    "start_run",
]
