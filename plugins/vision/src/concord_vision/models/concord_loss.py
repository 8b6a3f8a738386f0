"""concord losses inside mmengine models: built by name, and scaled for DDP by one rule."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from concord import distributed
from concord.errors import ConfigError

__all__ = ["build_loss", "for_ddp"]


def build_loss(spec: Mapping[str, Any], what: str) -> nn.Module:
    """The loss a config names, ``{'name': <registered loss>, **options}``, built by the core's
    :func:`concord.run.build_component`: any installed loss, the core's or a third party's,
    reaches the model the same way, and an unknown name or option is a one-line
    :class:`~concord.errors.ConfigError` naming ``what`` (the config key) and the valid choices."""
    from concord.run import build_component

    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ConfigError(f"{what} must be a dict with a 'name' (a registered concord loss), got {spec!r}")
    plain = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in spec.items()}
    return build_component("losses", plain, where=what)


def for_ddp(loss: nn.Module, value: Tensor) -> Tensor:
    """The loss value to hand to mmengine's (DDP-averaging) optimiser step.

    A loss that reduces over every process (``gather=True`` or ``global_mean=True``) returns the
    global mean, whose gradient on each rank is only that rank's part: it is scaled by the world
    size (:func:`concord.distributed.scale_for_ddp`) so DDP's averaging leaves exactly the
    single-process gradient of the global batch. A local mean is left alone: DDP's average of
    per-rank means is the global mean for the equal per-rank batches mmengine's samplers give.
    """
    if getattr(loss, "gather", False) or getattr(loss, "global_mean", False):
        return distributed.scale_for_ddp(value)
    return value
