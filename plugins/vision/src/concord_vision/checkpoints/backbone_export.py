"""Export a pretrained backbone in the form mmseg's ``Pretrained`` initialiser loads."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from concord.errors import CheckpointError
from concord.run.files import atomic_write

__all__ = ["export_backbone", "load_weights"]


def load_weights(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``: tensors and plain containers
    only, never code. Runner checkpoints written by concord-vision load this way
    (:class:`~concord_vision.checkpoints.PlainCheckpointHook`); a file that pickles classes is
    refused with the reason, not opened with ``weights_only=False``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{str(path)!r} pickles Python objects, so it is not loaded ({first}); concord-vision "
            "reads only tensors and plain containers (checkpoints it wrote itself are such files)"
        ) from exc
    except Exception as exc:  # truncated / not a torch file
        raise CheckpointError(f"{str(path)!r} is not a readable checkpoint "
                              f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{str(path)!r} holds a {type(data).__name__}, not a checkpoint dict")
    return dict(data)


def export_backbone(checkpoint: str | Path, output: str | Path, *, prefix: str = "backbone.") -> Path:
    """Keep the ``backbone.*`` weights of a pretraining checkpoint and write
    ``{'state_dict': {'backbone.<name>': tensor}, 'meta': {...}}`` atomically to ``output``.

    That file is what ``init_cfg=dict(type='Pretrained', checkpoint=output, prefix='backbone.')``
    on an unmodified mmseg backbone (e.g. ``ResNetV1c``) loads, and it needs no pickled class to
    open. Only the online backbone is exported (the authors and mmselfsup do the same); the
    momentum copy (``target.*``) and the heads stay behind.

    Raises:
        CheckpointError: the file is missing or unreadable, or has no ``backbone.`` weights.
    """
    data = load_weights(checkpoint)
    state = data.get("state_dict", data)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{str(checkpoint)!r} has no state_dict")
    weights = {k: v for k, v in state.items() if k.startswith(prefix) and isinstance(v, torch.Tensor)}
    if not weights:
        some = ", ".join(sorted(state)[:5]) or "nothing"
        raise CheckpointError(
            f"{str(checkpoint)!r} holds no backbone weights (no key starts with {prefix!r}; "
            f"it has {some}{', ...' if len(state) > 5 else ''})"
        )
    meta = data.get("meta", {}) if isinstance(data.get("meta"), Mapping) else {}
    out = {"state_dict": weights,
           "meta": {"source": str(checkpoint), "iter": meta.get("iter"), "epoch": meta.get("epoch")}}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(output, lambda fh: torch.save(out, fh))
    return output
