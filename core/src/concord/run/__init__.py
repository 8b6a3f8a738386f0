"""Run conventions shared by every plugin's training CLI (configs, output folder, checkpoints,
metrics, plots, progress bars, seeding, components by name, the resume rule). Needs the ``run``
extra: ``pip install 'concord-core[run]'``."""

from concord.errors import CheckpointError
from concord.run.checkpoint import (
    capture_rng,
    load_checkpoint,
    load_checkpoint_progress,
    restore_rng,
    save_checkpoint,
)
from concord.run.command import (
    Run,
    add_train_arguments,
    report_errors,
    run_training,
    say,
    start_run,
)
from concord.run.components import build_component, component_field
from concord.run.config import (
    apply_overrides,
    config_from_dict,
    config_to_dict,
    load_config,
    read_yaml,
)
from concord.run.early_stopping import EarlyStopping
from concord.run.files import atomic_write, atomic_write_bytes, atomic_write_text
from concord.run.progress import progress
from concord.run.resume import Progress, plan_resume
from concord.run.rundir import BUDGET_KEYS, RunDir, flatten
from concord.run.seed import seed_everything
from concord.run.threads import check_threads, use_threads

__all__ = [
    "BUDGET_KEYS",
    "CheckpointError",
    "EarlyStopping",
    "Progress",
    "Run",
    "RunDir",
    "add_train_arguments",
    "apply_overrides",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "build_component",
    "capture_rng",
    "check_threads",
    "component_field",
    "config_from_dict",
    "config_to_dict",
    "flatten",
    "load_checkpoint",
    "load_checkpoint_progress",
    "load_config",
    "plan_resume",
    "progress",
    "read_yaml",
    "report_errors",
    "restore_rng",
    "run_training",
    "save_checkpoint",
    "say",
    "seed_everything",
    "start_run",
    "use_threads",
]
