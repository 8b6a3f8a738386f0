"""Stopping a run whose loss or gradient stops being a number."""

from __future__ import annotations

from concord.errors import UserError

__all__ = ["TrainingDiverged"]


class TrainingDiverged(UserError, RuntimeError):
    """The loss (or the gradient norm) is NaN or infinite at a step: training stops there, before
    the update, and the last checkpoint -- written before that step -- is kept as it was."""

    def __init__(self, step: int, what: str, value: float, checkpoint_step: int | None, folder: str | None) -> None:
        where = (f"the last good checkpoint ({folder}/checkpoints/last.pt, after step {checkpoint_step}) is kept"
                 if checkpoint_step is not None and folder is not None else "no checkpoint was written yet")
        super().__init__(f"the {what} is {value} at step {step}: training stopped before that update; {where}. "
                         "Lower train.lr or set train.grad_clip, then continue with --resume")
        self.step = step
