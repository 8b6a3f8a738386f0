"""``train.threads``: how many CPU threads a run uses, checked and applied the same way in every
plugin.

On a shared machine an oversubscribed thread pool spin-waits and slows every job; a config sets
``train.threads: N`` (``null``: torch's default) and the trainer calls :func:`use_threads` once
before it computes. The scikit-learn evaluations of the plugins follow ``torch.get_num_threads()``.
"""

from __future__ import annotations

from typing import Any

from concord.errors import ConfigError

__all__ = ["check_threads", "use_threads"]


def check_threads(name: str, value: Any) -> int | None:
    """``None`` or an integer ``>= 1`` (config dataclasses call this in ``__post_init__``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1 or null, got {value!r}")
    return value


def use_threads(threads: int | None) -> None:
    """Set torch's intra-op thread count (``None``: leave torch's default)."""
    import torch

    if check_threads("threads", threads) is not None:
        torch.set_num_threads(threads)
