"""Image ids that are unique across processes, for pixel pairs over gathered keys."""

from __future__ import annotations

import torch
from torch import Tensor

from concord import distributed

__all__ = ["global_image_ids"]


def global_image_ids(batch_size: int, device: torch.device | str = "cpu") -> Tensor:
    """``offset, ..., offset + B - 1`` where ``offset`` is the number of images on lower ranks:
    the ids of the global batch are ``0 .. N - 1`` in rank order, exactly those one process
    would use for the concatenated batch (uneven batches included). Without a process group,
    ``arange(B)``.
    """
    sizes = distributed.gather_no_grad(torch.tensor([batch_size], device=device)).tensor
    offset = int(sizes[: distributed.rank()].sum())
    return torch.arange(offset, offset + batch_size, device=device)
