"""A MoCo-style memory queue of keys, identical on every process."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord import distributed
from concord.errors import InputError
from concord.validation import check_embeddings, check_labels

__all__ = ["MemoryQueue"]


class MemoryQueue(nn.Module):
    r"""First-in first-out queue of detached keys (and optional labels), as in MoCo
    (He et al. 2020, `Momentum Contrast <https://arxiv.org/abs/1911.05722>`_, Algorithm 1:
    ``enqueue(queue, k); dequeue(queue)``).

    :meth:`enqueue` first gathers the keys of every process in rank order (when a process group
    is initialised and ``gather=True``), so after each call every process holds the same queue --
    exactly the queue a single process would hold after enqueuing the concatenated global batch.
    The queue is a buffer: it is saved in ``state_dict`` and resumes exactly.

    Args:
        size: capacity :math:`K` (number of keys).
        dim: key dimension :math:`D`.
        with_labels: also store one integer label per key (supervised MoCo, SupCon with a queue).
        gather: gather keys across processes on enqueue (default: ``True``).

    Shapes:
        ``keys()``: ``(min(K, enqueued), D)``, oldest first; ``labels()``: ``(min(K, enqueued),)``.
    """

    def __init__(self, *, size: int, dim: int, with_labels: bool = False, gather: bool = True) -> None:
        super().__init__()
        for name, v in (("size", size), ("dim", dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be an integer >= 1, got {v!r}")
        self.size, self.dim, self.with_labels, self.gather = size, dim, with_labels, gather
        self.register_buffer("_keys", torch.zeros(size, dim))
        self.register_buffer("_labels", torch.full((size,), -1, dtype=torch.long))
        self.register_buffer("_ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("_count", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self._count.clamp(max=self.size))

    @torch.no_grad()
    def enqueue(self, keys: Tensor, labels: Tensor | None = None) -> None:
        """Append a batch of keys (gathered from every process first); drop the oldest."""
        check_embeddings("keys", keys)
        if keys.shape[1] != self.dim:
            raise InputError(f"keys have dimension {keys.shape[1]}, the queue holds {self.dim}")
        if self.with_labels:
            if labels is None:
                raise InputError("this queue stores labels (with_labels=True); pass labels")
            labels = check_labels("labels", labels, int(keys.shape[0]))
        elif labels is not None:
            raise InputError("labels given to a queue made with with_labels=False")
        if self.gather:
            keys = distributed.gather_no_grad(keys).tensor
            if labels is not None:
                labels = distributed.gather_no_grad(labels).tensor
        keys = keys.detach().to(self._keys.dtype)
        if keys.shape[0] > self.size:  # only the newest `size` keys survive
            keys = keys[-self.size :]
            labels = None if labels is None else labels[-self.size :]
        n = int(keys.shape[0])
        ptr = int(self._ptr)
        idx = (ptr + torch.arange(n, device=self._keys.device)) % self.size
        self._keys[idx] = keys
        if labels is not None:
            self._labels[idx] = labels.to(self._labels.device, torch.long)
        self._ptr.fill_((ptr + n) % self.size)
        self._count.add_(n)

    def _order(self) -> Tensor:
        n = len(self)
        start = int(self._ptr) if int(self._count) >= self.size else 0
        return (start + torch.arange(n, device=self._keys.device)) % self.size

    def keys(self) -> Tensor:
        """Stored keys, oldest first (a copy)."""
        return self._keys[self._order()]

    def labels(self) -> Tensor:
        if not self.with_labels:
            raise InputError("this queue stores no labels (with_labels=False)")
        return self._labels[self._order()]

    def extra_repr(self) -> str:
        return f"size={self.size}, dim={self.dim}, with_labels={self.with_labels}, filled={len(self)}"
