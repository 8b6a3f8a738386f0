"""Seeding every generator a run uses."""

from __future__ import annotations

import random

import torch

__all__ = ["seed_everything"]


def seed_everything(seed: int, *, deterministic: bool = False) -> torch.Generator:
    """Seed Python, NumPy (if installed) and torch; return a fresh ``torch.Generator`` seeded with
    ``seed`` for code that takes an explicit generator (augmentations, samplers).

    With ``deterministic=True`` torch is asked for deterministic kernels (``warn_only``), which
    makes CPU runs bit-for-bit repeatable and GPU runs as repeatable as the kernels allow.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    try:
        import numpy as np
    except ImportError:
        pass
    else:
        np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    g = torch.Generator()
    g.manual_seed(seed)
    return g
