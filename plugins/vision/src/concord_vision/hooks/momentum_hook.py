r"""The momentum encoder's cosine schedule as an mmengine hook."""

from __future__ import annotations

import math

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from concord.errors import ConfigError

__all__ = ["MomentumHook", "cosine_momentum"]


def cosine_momentum(step: int, total: int, start: float, end: float = 1.0) -> float:
    r"""BYOL's schedule (Grill et al. 2020, Sec. 3.2), used by PixPro (the authors'
    ``_momentum_update_key_encoder``):

    .. math::
        m_k = m_{\mathrm{end}} - (m_{\mathrm{end}} - m_0)\, \frac{\cos(\pi k / K) + 1}{2}

    so :math:`m_0` at step 0 and :math:`m_{\mathrm{end}}` at step :math:`K`."""
    if total <= 0:
        raise ConfigError(f"total steps must be >= 1, got {total}")
    k = min(max(step, 0), total)
    return end - (end - start) * (math.cos(math.pi * k / total) + 1) / 2


class MomentumHook(Hook):
    """Before every training iteration, set ``model.momentum`` to :func:`cosine_momentum` of
    ``runner.iter`` out of ``runner.max_iters`` (so a resumed run continues the schedule exactly:
    the iteration counter is part of mmengine's checkpoint).

    Args:
        start: :math:`m_0` (default: ``0.99``, PixPro's ``--pixpro-momentum``).
        end: :math:`m_{\\mathrm{end}}` (default: ``1.0``).
    """

    priority = "NORMAL"

    def __init__(self, start: float = 0.99, end: float = 1.0) -> None:
        if not 0 <= start <= end <= 1:
            raise ConfigError(f"need 0 <= start <= end <= 1, got start={start!r}, end={end!r}")
        self.start, self.end = float(start), float(end)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, "momentum"):
            raise ConfigError(f"{type(model).__name__} has no momentum encoder for MomentumHook")
        model.momentum = cosine_momentum(runner.iter, runner.max_iters, self.start, self.end)
