"""Process-group set-up under ``torchrun`` (environment variables ``RANK`` / ``WORLD_SIZE``)."""

from __future__ import annotations

import os

import torch

__all__ = ["init_from_env"]


def init_from_env() -> tuple[int, int]:
    """Join the process group ``torchrun`` describes (gloo on CPU, nccl on GPU); returns
    ``(rank, world_size)``, ``(0, 1)`` outside ``torchrun``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return dist.get_rank(), dist.get_world_size()
