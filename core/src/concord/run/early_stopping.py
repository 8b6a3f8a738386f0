"""Early stopping on a monitored value, resumable (RecBole's ``stopping_step``; the patience rule
of MEOW's and HeCo's training scripts).

After each evaluation, :meth:`EarlyStopping.update` records the value; the run stops once
``patience`` consecutive evaluations brought no strict improvement of the best value so far
(bigger is better with ``mode="max"``, e.g. a validation metric; smaller with ``mode="min"``,
e.g. a training loss). ``patience=0`` never stops. A non-finite value never improves: it counts
as an evaluation without improvement. The state travels in a run's checkpoint through
:meth:`state_dict` / :meth:`load_state_dict`, so a resumed run stops where an uninterrupted one
would.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from concord.errors import ConfigError

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Args:
        patience: evaluations without improvement before stopping (``>= 0``; 0: never).
        mode: ``"max"`` (bigger is better) or ``"min"``.

    Attributes:
        best: the best value so far (``-inf`` / ``inf`` before the first).
        best_epoch: the epoch of ``best`` (``-1`` before the first).
        bad: evaluations since the last improvement.
    """

    def __init__(self, *, patience: int, mode: Literal["max", "min"] = "max") -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"patience must be an integer >= 0, got {patience!r}")
        if mode not in ("max", "min"):
            raise ConfigError(f"mode must be 'max' or 'min', got {mode!r}")
        self.patience = patience
        self.mode = mode
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch = -1
        self.bad = 0

    def update(self, epoch: int, value: float) -> bool:
        """Record the value of ``epoch``; returns whether it is a new (strictly better) best."""
        value = float(value)
        better = value > self.best if self.mode == "max" else value < self.best
        if math.isfinite(value) and better:
            self.best, self.best_epoch, self.bad = value, int(epoch), 0
            return True
        self.bad += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.bad >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad": self.bad}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad = float(state["best"]), int(state["best_epoch"]), int(state["bad"])

    def __repr__(self) -> str:
        return (f"EarlyStopping(patience={self.patience}, mode={self.mode!r}, best={self.best}, "
                f"best_epoch={self.best_epoch}, bad={self.bad})")
