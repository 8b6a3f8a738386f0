"""An exponential moving average of a network's weights."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

from concord.errors import ConfigError, InputError

__all__ = ["EMA"]


class EMA:
    r"""A frozen copy of ``model`` whose weights follow the model's by an exponential moving
    average, after every optimiser step:

    .. math::
        \theta^- \leftarrow \mu\, \theta^- + (1 - \mu)\, \theta

    iCT keeps an EMA copy only to sample with (Song & Dhariwal 2023, Sec. 3.2: the teacher is the
    student itself); the original consistency training also used one as the teacher, with a
    rate :math:`\mu(k)` that follows the curriculum
    (:func:`~concord_diffusion.ict.curriculum.ct_teacher_decay`). Buffers are copied, not averaged.

    Args:
        model: the network to follow (a copy is made; the copy is in eval mode and needs no grad).
    """

    def __init__(self, model: nn.Module) -> None:
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float) -> None:
        """One step of the average with rate ``decay`` (:math:`\\mu \\in [0, 1]`; 0 copies the model)."""
        if not (isinstance(decay, (int, float)) and math.isfinite(decay)) or not 0.0 <= decay <= 1.0:
            raise ConfigError(f"the EMA decay must lie in [0, 1], got {decay!r}")
        mine = list(self.module.parameters())
        theirs = [p.detach() for p in model.parameters()]
        if len(mine) != len(theirs):
            raise InputError("the EMA copy and the model have different parameters")
        if decay < 1.0:
            torch._foreach_lerp_(mine, theirs, 1.0 - decay)
        for b_ema, b in zip(self.module.buffers(), model.buffers()):
            b_ema.copy_(b)

    def state_dict(self) -> dict[str, Any]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state)
