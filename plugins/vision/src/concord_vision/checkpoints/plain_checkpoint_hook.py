"""Make mmengine Runner checkpoints loadable under ``torch.load(weights_only=True)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

__all__ = ["PlainCheckpointHook", "to_plain"]

_BUFFER = "__concord_history_buffer__"


def to_plain(x: Any) -> Any:
    """numpy arrays -> tensors, numpy scalars -> Python numbers, tuples kept, recursively."""
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, HistoryBuffer):
        return {_BUFFER: True, "log_history": x._log_history.tolist(),
                "count_history": x._count_history.tolist(), "max_length": int(x.max_length)}
    if isinstance(x, Mapping):
        return type(x)((k, to_plain(v)) for k, v in x.items()) if isinstance(x, dict) else {
            k: to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_plain(v) for v in x)
    return x


def _restore(x: Any) -> Any:
    if isinstance(x, dict) and x.get(_BUFFER) is True:
        return HistoryBuffer(x["log_history"], x["count_history"], x["max_length"])
    if isinstance(x, dict):
        return type(x)((k, _restore(v)) for k, v in x.items())
    return x


class PlainCheckpointHook(Hook):
    """Write checkpoints that need no allow-list to load safely.

    An mmengine Runner checkpoint pickles ``mmengine.logging.HistoryBuffer`` objects (the
    logged scalars) holding numpy arrays, so torch 2.13's default ``torch.load(weights_only=True)``
    refuses it (``Unsupported global: GLOBAL mmengine.logging.history_buffer.HistoryBuffer``, then
    numpy's reconstruct globals) and ``resume=True`` fails. Rather than load such a file with
    ``weights_only=False`` -- which would run whatever a tampered file pickles -- this hook turns
    those objects into plain dicts, lists, numbers and tensors before the checkpoint is written
    (``before_save_checkpoint``) and back into ``HistoryBuffer`` s after it is read
    (``after_load_checkpoint``, which mmengine calls before restoring its message hub). The
    concord-vision CLI adds it to every run.
    """

    priority = "VERY_LOW"

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            checkpoint[key] = to_plain(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if "message_hub" in checkpoint:
            checkpoint["message_hub"] = _restore(checkpoint["message_hub"])
