"""Where a run computes: one resolver for ``train.device`` in every plugin, and the process-group
backend that follows from it.

``train.device`` accepts

=============  ================================================================================
``cpu``        the CPU
``cuda``       a CUDA GPU: ``cuda:LOCAL_RANK`` under ``torchrun`` / ``accelerate launch``
               (one GPU per process), else ``cuda:0``
``cuda:N``     GPU ``N`` (the same for every process; use ``cuda`` to spread processes)
``auto``       ``cuda`` when this torch build sees a GPU, else ``cpu``
=============  ================================================================================

A device this machine cannot provide is a :class:`~concord.errors.DeviceError` (a user error,
shown in one line), never a silent fall-back to the CPU.

The backend of a process group follows the device the run computes on, not what the machine
has: ``gloo`` for the CPU and ``nccl`` for CUDA (:func:`backend_for`). A CPU run on a GPU machine
therefore uses gloo; picking nccl there would fail as soon as a CPU tensor is all-gathered.
"""

from __future__ import annotations

import os
import re

import torch

from concord.errors import DeviceError

__all__ = ["DEVICE_CHOICES", "backend_for", "check_device", "resolve_device"]

#: What ``train.device`` accepts (``cuda:N`` for any N >= 0 besides these).
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")

_CUDA_INDEX = re.compile(r"^cuda:(\d+)$")


def check_device(name: str, spec: str) -> str:
    """Check the spelling of a device spec (no hardware is queried); returns it.

    Config dataclasses call this in ``__post_init__`` so ``--set train.device=gpu`` fails at
    load time with the valid choices.
    """
    if not isinstance(spec, str) or not (spec in DEVICE_CHOICES or _CUDA_INDEX.match(spec)):
        raise DeviceError(
            f"{name} must be one of {', '.join(DEVICE_CHOICES)} or cuda:N, got {spec!r}"
        )
    return spec


def _local_rank() -> int:
    raw = os.environ.get("LOCAL_RANK", "0")
    try:
        return int(raw)
    except ValueError:
        raise DeviceError(f"LOCAL_RANK must be an integer, got {raw!r}") from None


def resolve_device(spec: str = "auto", *, name: str = "train.device") -> torch.device:
    """The :class:`torch.device` a run uses for ``spec`` (see the module table).

    Raises:
        DeviceError: the spec is misspelt, this torch build has no CUDA, or the GPU index is
            beyond the visible GPUs.
    """
    check_device(name, spec)
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        spec = "cuda"
    if not torch.cuda.is_available():
        build = torch.__version__
        why = ("this torch build has no CUDA support" if torch.version.cuda is None
               else "no CUDA GPU is visible (check CUDA_VISIBLE_DEVICES and the driver)")
        raise DeviceError(f"{name}={spec!r} but {why} (torch {build}); use cpu or auto")
    count = torch.cuda.device_count()
    match = _CUDA_INDEX.match(spec)
    index = int(match.group(1)) if match else _local_rank() % max(count, 1)
    if match is None and _local_rank() >= count:
        raise DeviceError(
            f"{name}='cuda' under a launcher gives each process its own GPU, but LOCAL_RANK "
            f"{_local_rank()} >= the {count} visible GPU(s); start at most {count} processes per node"
        )
    if index >= count:
        raise DeviceError(f"{name}={spec!r} but only {count} GPU(s) are visible (cuda:0..cuda:{count - 1})")
    return torch.device("cuda", index)


def backend_for(device: torch.device | str) -> str:
    """The ``torch.distributed`` backend for processes computing on ``device``: ``nccl`` for
    CUDA, ``gloo`` otherwise."""
    return "nccl" if torch.device(device).type == "cuda" else "gloo"
