"""The one resume rule of every training CLI: continue to the new budget, or refuse and say why.

Each ``checkpoints/last.pt`` carries a :class:`Progress` next to the trainer's state: how many
epochs (or steps) are done, the budget the run was heading for, whether it finished (its report
was written), whether a larger budget may continue it, and how many lines ``metrics.jsonl`` held
when the checkpoint was written. ``--resume`` then does exactly one of:

* **continue** -- the run had not finished, or the budget (``train.epochs`` / ``train.steps``)
  was raised above what is done and the trainer can extend it: ``metrics.jsonl`` is cut back to
  the checkpoint's lines (a killed run may have logged past its last checkpoint) and training
  goes on; the CLI prints ``resuming DIR after 3 of 5 epochs``;
* **refuse** -- the run finished and the budget was not raised ("already finished"), the new
  budget is below what is done, or the trainer cannot extend a finished run (e.g. its models were
  evaluated repeat by repeat): a :class:`~concord.errors.ConfigError` says what to do instead.
  Nothing in the folder is rewritten.

No checkpoint at all (the run was killed before its first one, or a corrupt one was deleted)
starts the run over in the same folder, and its old ``metrics.jsonl`` and ``report.json`` are
removed so the new lines do not follow stale ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from concord.errors import CheckpointError, ConfigError

__all__ = ["Progress", "plan_resume"]


@dataclass(frozen=True)
class Progress:
    """Where a run stands when a checkpoint is written.

    Args:
        unit: ``"epoch"`` or ``"step"``.
        done: units completed.
        budget: the budget the run was heading for (``train.epochs`` / ``train.steps``).
        finished: the run completed and wrote its report.
        extendable: a raised budget may continue the run from this checkpoint.
        metrics_rows: lines of ``metrics.jsonl`` that belong to this checkpoint.
        reason: why the run is not extendable, for the refusal (``"it stopped early"``).
    """

    unit: str
    done: int
    budget: int
    finished: bool = False
    extendable: bool = True
    metrics_rows: int = 0
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, path: Path | str) -> Progress:
        if not isinstance(data, dict):
            raise CheckpointError(
                f"checkpoint {str(path)!r} records no run progress (written by an older concord?); "
                "it cannot be resumed: start a new run"
            )
        try:
            return cls(unit=str(data["unit"]), done=int(data["done"]), budget=int(data["budget"]),
                       finished=bool(data["finished"]), extendable=bool(data["extendable"]),
                       metrics_rows=int(data["metrics_rows"]), reason=str(data.get("reason", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {str(path)!r} has malformed run progress: {exc}") from None

    def finish(self) -> Progress:
        return replace(self, finished=True)


def plan_resume(progress: Progress, budget_key: str, budget: int, folder: Path | str) -> str:
    """The message for continuing ``folder`` under the new ``budget``, or a
    :class:`~concord.errors.ConfigError` saying why it cannot continue."""
    unit, done = progress.unit, progress.done
    why = f" ({progress.reason})" if progress.reason else ""
    if budget != progress.budget and not progress.extendable:
        raise ConfigError(
            f"cannot resume {str(folder)!r} with {budget_key}={budget}: this run "
            f"({budget_key}={progress.budget}) cannot change its budget once started{why}; "
            f"start a new run with --output to train with {budget_key}={budget}"
        )
    if budget < done:
        raise ConfigError(
            f"cannot resume {str(folder)!r} with {budget_key}={budget}: its checkpoint is after "
            f"{done} {unit}s; pass {budget_key} >= {done}"
        )
    if progress.finished:
        if budget <= done:
            raise ConfigError(
                f"{str(folder)!r} already finished ({done} {unit}s, report written): nothing to "
                f"resume; raise {budget_key} above {done} to train it further"
            )
        if not progress.extendable:
            raise ConfigError(
                f"{str(folder)!r} finished and cannot be extended{why}; start a new run with "
                f"--output to train with {budget_key}={budget}"
            )
        return f"resuming {folder}: it finished after {done} {unit}s, training on to {budget_key}={budget}"
    if budget != progress.budget:
        return (f"resuming {folder} after {done} of {progress.budget} {unit}s, now training to "
                f"{budget_key}={budget}")
    return f"resuming {folder} after {done} of {budget} {unit}s"
