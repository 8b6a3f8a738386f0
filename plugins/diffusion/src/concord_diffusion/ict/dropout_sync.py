"""The same dropout masks for student and teacher, on whatever device the model runs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import torch

from concord.errors import ConfigError

__all__ = ["SYNC_MODES", "rewound_rng", "rng_devices"]

#: ``device``: rewind the generator of the device the model runs on (and the CPU's);
#: ``cpu``: rewind the CPU generator only -- what diffusers' research script and the original
#: CM code do (``torch.get_rng_state()`` / ``set_rng_state``), which replays dropout only when the
#: model runs on the CPU; ``none``: no replay, the teacher draws fresh masks.
SYNC_MODES = ("device", "cpu", "none")


def rng_devices(device: torch.device, mode: Literal["device", "cpu", "none"] = "device") -> tuple[list[int], str | None]:
    """The ``(devices, device_type)`` that :func:`torch.random.fork_rng` must fork so that the
    dropout of a model on ``device`` is replayed (the CPU generator is always forked)."""
    if mode not in SYNC_MODES:
        raise ConfigError(f"dropout_sync must be one of {list(SYNC_MODES)}, got {mode!r}")
    device = torch.device(device)
    if mode == "cpu" or device.type == "cpu":
        return [], None
    index = device.index
    if index is None:
        module = torch.get_device_module(device.type)
        index = module.current_device() if hasattr(module, "current_device") else 0
    return [index], device.type


@contextlib.contextmanager
def rewound_rng(device: torch.device, mode: Literal["device", "cpu", "none"] = "device") -> Iterator[None]:
    r"""Run the block, then put the random generators back where they were before it.

    iCT synchronises the dropout random number generators of student and teacher (Song &
    Dhariwal 2023, `Improved Techniques for Training Consistency Models
    <https://arxiv.org/abs/2310.14189>`_, Sec. 3.1): wrap the student's forward pass in this
    block and run the teacher's right after it; the teacher's dropout then draws exactly the
    masks the student drew, and afterwards the generators stand where the student left them::

        with rewound_rng(x.device):
            student = f(x_next, sigma_next)
        with torch.no_grad():
            teacher = f(x_now, sigma_now)

    ``mode="device"`` rewinds the generator of ``device`` (CUDA's Philox state on a GPU, the CPU
    generator on the CPU); ``"cpu"`` rewinds only the CPU generator, so on a GPU the teacher's
    masks differ from the student's (the behaviour of diffusers' research script, kept for the
    benchmark); ``"none"`` rewinds nothing.
    """
    if mode == "none":
        rng_devices(device, mode)  # validates the mode
        yield
        return
    devices, device_type = rng_devices(device, mode)
    with torch.random.fork_rng(devices=devices, device_type=device_type or "cuda"):
        yield
