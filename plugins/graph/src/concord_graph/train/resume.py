"""Where a graph run continues after ``--resume``; shared by both graph trainers.

Their checkpoints hold ``repeat`` (the repeat being trained), ``epoch`` (its last finished
epoch; ``-1`` when the repeat has not started), the finished repeats' ``results`` and the
epoch ``seconds`` so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from concord.run.rundir import RunDir

__all__ = ["ResumePoint"]


@dataclass
class ResumePoint:
    results: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    start_repeat: int = 0
    state: dict[str, Any] | None = None

    @classmethod
    def restore(cls, resume_state: dict[str, Any] | None, run_dir: RunDir | None) -> ResumePoint:
        """Read the checkpoint and drop the metric rows written after it (a killed run may have
        logged an epoch whose checkpoint never landed)."""
        if resume_state is None:
            return cls()
        start_repeat = int(resume_state["repeat"])
        if run_dir is not None:
            start_epoch = int(resume_state["epoch"]) + 1
            run_dir.keep_metrics(
                lambda row: (row.get("repeat", 0), row.get("epoch", -1)) < (start_repeat, start_epoch)
            )
        return cls(list(resume_state["results"]), list(resume_state.get("seconds", [])), start_repeat,
                   resume_state)

    def state_for(self, repeat: int) -> dict[str, Any] | None:
        """The checkpoint to continue ``repeat`` from: only the first repeat, and only when it
        had finished at least one epoch."""
        if self.state is not None and repeat == self.start_repeat and self.state["epoch"] >= 0:
            return self.state
        return None
