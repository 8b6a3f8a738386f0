"""Training progress as JSON lines (and a progress bar) from inside the mmengine Runner."""

from __future__ import annotations

import time
from typing import Any

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from concord import distributed
from concord.run import RunDir, progress

__all__ = ["MetricsHook"]


class MetricsHook(Hook):
    """Append one JSON object per ``interval`` training iterations to ``metrics.jsonl``
    (``iter``, every logged loss, ``lr``, the momentum where the model has one, ``seconds``), one
    per validation / test evaluation (``split``, the metrics), and drive a progress bar. Only
    rank 0 writes.

    Args:
        run_dir: the run's folder (:class:`concord.run.RunDir`).
        interval: iterations between training rows (default: ``10``).
    """

    priority = "LOW"

    def __init__(self, run_dir: RunDir, interval: int = 10) -> None:
        self.run_dir, self.interval = run_dir, int(interval)
        self._bar: Any = None
        self._start = time.monotonic()
        self.start_iter = 0
        self.last: dict[str, Any] = {}

    @staticmethod
    def _main() -> bool:
        return distributed.rank() == 0

    def before_train(self, runner) -> None:
        self._start = time.monotonic()
        self.start_iter = int(runner.iter)
        if self._main():
            # progress() returns the bar itself (an iterable, not an iterator): step an iterator of it
            self._bar = iter(progress(range(runner.iter, runner.max_iters), total=runner.max_iters,
                                      initial=runner.iter, desc=f"{runner.experiment_name[:20]}"))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self._main():
            return
        if self._bar is not None:
            next(self._bar, None)
        step = runner.iter + 1
        if step % self.interval and step != runner.max_iters:
            return
        row: dict[str, Any] = {"iter": step}
        for k, v in (outputs or {}).items():
            row[k] = float(v.detach()) if hasattr(v, "detach") else float(v)
        lr = runner.optim_wrapper.get_lr()
        row["lr"] = float(next(iter(lr.values()))[0])
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if hasattr(model, "momentum"):
            row["momentum"] = float(model.momentum)
        row["seconds"] = round(time.monotonic() - self._start, 3)
        self.last = row
        self.run_dir.log(row)

    def after_train(self, runner) -> None:
        if self._bar is not None:
            for _ in self._bar:
                pass
            self._bar = None

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._main() and metrics:
            self.run_dir.log({"iter": runner.iter, "split": "val", **{k: float(v) for k, v in metrics.items()}})

    def after_test_epoch(self, runner, metrics=None) -> None:
        if self._main() and metrics:
            self.run_dir.log({"iter": runner.iter, "split": "test", **{k: float(v) for k, v in metrics.items()}})
