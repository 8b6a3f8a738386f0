"""Where a graph run continues after ``--resume``; shared by both graph trainers.

A graph run trains ``train.repeats`` models one after another and evaluates each. Their
``last.pt`` holds ``repeat`` (the repeat being trained), ``epoch`` (its last finished epoch;
``-1`` when the repeat has not started), the finished repeats' ``results``, the epoch
``seconds`` so far and, once the last repeat was trained, its full training state with
``evaluated: True``.

Budget rule (:mod:`concord.run.resume` decides; the trainers declare ``extendable``): while the
first repeat trains, or when the run has a single repeat, a raised ``train.epochs`` continues
it; once a repeat was evaluated at the old budget and others follow, the budget is fixed
(the repeats would otherwise be trained to different budgets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ResumePoint"]


@dataclass
class ResumePoint:
    results: list[dict[str, Any]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    start_repeat: int = 0
    state: dict[str, Any] | None = None

    @classmethod
    def restore(cls, resume_state: dict[str, Any] | None) -> ResumePoint:
        """Read the checkpoint (``metrics.jsonl`` was already cut back to it by the core). The
        last repeat's evaluation is redone: the run may have been killed before its report, or
        resumed with more epochs."""
        if resume_state is None:
            return cls()
        results = list(resume_state["results"])
        start_repeat = int(resume_state["repeat"])
        if resume_state.get("evaluated"):
            results = [r for r in results if r["repeat"] != start_repeat]
        return cls(results, list(resume_state.get("seconds", [])), start_repeat, resume_state)

    def state_for(self, repeat: int) -> dict[str, Any] | None:
        """The checkpoint to continue ``repeat`` from: only the first repeat, and only when it
        had finished at least one epoch."""
        if self.state is not None and repeat == self.start_repeat and self.state["epoch"] >= 0:
            return self.state
        return None

    @staticmethod
    def extendable(repeat: int, repeats: int) -> bool:
        """Whether a raised ``train.epochs`` may continue a checkpoint written in ``repeat``."""
        return repeats == 1 or repeat == 0
