"""Checkpoints: atomic writes, clear errors on corrupt files, exact resumption of random state."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import torch

from concord.errors import CheckpointError
from concord.run.files import atomic_write

__all__ = [
    "CheckpointError",
    "capture_rng",
    "load_checkpoint",
    "load_checkpoint_progress",
    "restore_rng",
    "save_checkpoint",
]


_MAGIC = "concord-checkpoint"
_FORMAT = 1


def save_checkpoint(state: dict[str, Any], path: str | Path, *, progress: dict[str, Any] | None = None) -> None:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) to ``path`` atomically.

    The file loads with ``torch.load(weights_only=True)``: no pickled classes, so a checkpoint
    can be opened safely and does not depend on the code that wrote it. ``progress`` (plain
    data, see :class:`concord.run.resume.Progress`) is stored beside the state.
    """
    payload = {"__format__": _MAGIC, "__version__": _FORMAT, "state": state, "progress": progress}
    atomic_write(path, lambda fh: torch.save(payload, fh))


def _read(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt or truncated and cannot be loaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). Restore a good "
            "copy, or delete it and run again with --resume to start the run over (its metrics "
            "are then cleared)"
        ) from exc
    if not isinstance(payload, dict) or payload.get("__format__") != _MAGIC:
        raise CheckpointError(f"{str(path)!r} is not a concord checkpoint")
    if payload.get("__version__") != _FORMAT:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has format {payload.get('__version__')}, this concord "
            f"reads format {_FORMAT}"
        )
    return payload


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; raise :class:`CheckpointError`
    naming the file and the cause if it cannot be used."""
    return _read(Path(path), map_location)["state"]


def load_checkpoint_progress(
    path: str | Path, *, map_location: str | torch.device = "cpu"
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(state, progress)`` of a checkpoint (``progress`` is ``None`` when none was saved)."""
    payload = _read(Path(path), map_location)
    return payload["state"], payload.get("progress")


def capture_rng() -> dict[str, Any]:
    """The state of Python's, NumPy's (if installed) and torch's global generators."""
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    version, internal, gauss = random.getstate()
    state["python"] = [version, list(internal), gauss]
    try:
        import numpy as np
    except ImportError:
        pass
    else:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state["numpy"] = {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype("int64")),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        }
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        import numpy as np

        s = state["numpy"]
        np.random.set_state(
            (s["kind"], s["keys"].numpy().astype("uint32"), s["pos"], s["has_gauss"], s["cached"])
        )
