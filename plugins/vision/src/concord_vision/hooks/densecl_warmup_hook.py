"""DenseCL's warm-up of the dense loss weight as an mmengine hook."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from concord.errors import ConfigError

__all__ = ["DenseCLWarmupHook"]


class DenseCLWarmupHook(Hook):
    r"""Hold DenseCL's :math:`\lambda` at 0 for the first ``start_iters`` iterations, then restore
    the configured value (Wang et al. 2021; the authors' ``DenseCLHook``, ``start_iters=1000``,
    which mmselfsup's DenseCL config does not switch on). The dense loss matches pixels by
    backbone similarity, meaningless for a random backbone; the warm-up trains the global branch
    first.

    Args:
        start_iters: warm-up length in iterations (default: ``1000``).
    """

    priority = "NORMAL"

    def __init__(self, start_iters: int = 1000) -> None:
        if isinstance(start_iters, bool) or not isinstance(start_iters, int) or start_iters < 0:
            raise ConfigError(f"start_iters must be an integer >= 0, got {start_iters!r}")
        self.start_iters = start_iters
        self._lambda: float | None = None

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, "loss_lambda"):
            raise ConfigError(f"DenseCLWarmupHook needs a model with loss_lambda, got {type(model).__name__}")
        return model

    def before_train(self, runner) -> None:
        self._lambda = float(self._model(runner).loss_lambda)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = self._model(runner)
        model.loss_lambda = self._lambda if runner.iter >= self.start_iters else 0.0
