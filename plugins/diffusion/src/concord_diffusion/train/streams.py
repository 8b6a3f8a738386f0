"""Random streams of a run that depend only on (seed, stream, index): resumable by construction.

Every draw of training -- the order of the images, each step's interval indices and noise, each
step's dropout seed, the noise of the sample grids and of the evaluation -- comes from a fresh
CPU generator seeded by a hash of ``(seed, stream name, step or epoch)``. Nothing random has to
be saved for ``--resume`` to continue exactly, on one process or several, and the draws are the
same on a CPU and on a GPU.
"""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor

__all__ = ["batch_indices", "stream_generator", "stream_seed"]


def stream_seed(seed: int, stream: str, index: int = 0) -> int:
    """A 63-bit seed from BLAKE2b of ``"{seed}/{stream}/{index}"`` (distinct streams never share
    seeds by construction, unlike ``seed + index`` schemes)."""
    digest = hashlib.blake2b(f"{seed}/{stream}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def stream_generator(seed: int, stream: str, index: int = 0) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`stream_seed`."""
    return torch.Generator().manual_seed(stream_seed(seed, stream, index))


def batch_indices(num_images: int, batch_size: int, step: int, seed: int) -> Tensor:
    """The image indices of global batch ``step``: epochs are fresh permutations
    (``stream "order"``), cut into ``num_images // batch_size`` batches (the remainder of each
    epoch is left out, as ``drop_last=True`` does)."""
    per_epoch = num_images // batch_size
    if per_epoch < 1:
        from concord.errors import ConfigError

        raise ConfigError(f"train.batch_size={batch_size} is larger than the {num_images} training images")
    epoch, j = divmod(step, per_epoch)
    perm = torch.randperm(num_images, generator=stream_generator(seed, "order", epoch))
    return perm[j * batch_size : (j + 1) * batch_size]
