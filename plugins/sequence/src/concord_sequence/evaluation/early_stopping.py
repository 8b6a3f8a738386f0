"""Early stopping on a validation metric (RecBole's ``stopping_step``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EarlyStopping"]


@dataclass
class EarlyStopping:
    """Stop after ``patience`` evaluations without a strict improvement of ``metric`` (bigger is
    better). ``patience=0`` never stops early."""

    metric: str
    patience: int
    best: float = float("-inf")
    best_epoch: int = -1
    bad: int = 0

    def update(self, epoch: int, value: float) -> bool:
        """Record ``value``; return whether it is a new best."""
        if value > self.best:
            self.best, self.best_epoch, self.bad = value, epoch, 0
            return True
        self.bad += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad >= self.patience

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad": self.bad}

    def load(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad = float(state["best"]), int(state["best_epoch"]), int(state["bad"])
