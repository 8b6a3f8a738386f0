"""Gathering embeddings across processes with correct gradients.

The rule (one rule, used by every concord loss that takes ``gather=True``)
---------------------------------------------------------------------------
Let the global batch be the concatenation, in rank order, of every process's local batch, and
let ``L`` be the loss the single-process code computes on that global batch (a mean over the
global queries). Then on every rank:

1. **Value.** The returned loss equals ``L`` (every rank reports the same number).
2. **Embedding gradients.** ``loss.backward()`` leaves on each rank's local embeddings exactly
   ``dL/dz_local``: the rows of the single-process gradient that belong to that rank.

How: each rank computes the loss terms of its *local* queries against the *gathered* keys.
:func:`gather` is an all-gather whose backward all-reduces (sums) the key gradients of every
rank and returns the local slice, so a key's gradient collects the terms of every query that
saw it, wherever that query lives. :func:`global_mean` divides by the global query count and
makes the value the global mean while the gradient stays the local part.

3. **Parameter gradients.** The local parts above add up, over ranks, to ``dL/dtheta``. Two
   ways to get exactly the single-process parameter gradient:

   * without DDP, call :func:`sum_gradients` on the parameters after ``backward()`` (one
     flattened all-reduce) -- what the graph and sequence trainers do;
   * under ``DistributedDataParallel``, which *averages* gradients over the ``W`` ranks, wrap
     the loss in :func:`scale_for_ddp` (value unchanged, gradient times ``W``).

   Both statements are tested against the single-process gradient.

Without an initialised process group every function here is the identity (``W = 1``).
Uneven local batch sizes are supported (sizes are exchanged first).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

from concord.errors import ConfigError, InputError

__all__ = [
    "Gathered",
    "all_reduce_sum",
    "gather",
    "gather_no_grad",
    "global_mean",
    "init_from_env",
    "is_distributed",
    "launched",
    "rank",
    "scale_for_ddp",
    "sum_gradients",
    "world_size",
]


def init_from_env(device: torch.device | str = "auto") -> tuple[int, int]:
    """Join the process group that ``torchrun`` (or ``accelerate launch``) describes in the
    environment (``WORLD_SIZE``, ``RANK``, ``MASTER_ADDR`` / ``MASTER_PORT``), once; returns
    ``(rank, world_size)``.

    Outside a launcher (``WORLD_SIZE`` unset or 1) nothing is initialised and ``(0, 1)`` is
    returned. The backend follows the device the run computes on
    (:func:`concord.devices.backend_for`): ``gloo`` for the CPU, ``nccl`` for CUDA (and the
    process then takes that GPU as its current device). ``device`` is a ``torch.device`` or a
    ``train.device`` spec resolved by :func:`concord.devices.resolve_device` (``"cuda"`` gives
    each process the GPU ``LOCAL_RANK``). Every plugin's ``train`` command calls this first, so
    ``torchrun --nproc-per-node N $(which concord) <domain> train CONFIG`` runs it distributed.
    """
    from concord.devices import backend_for, resolve_device

    raw = os.environ.get("WORLD_SIZE", "1")
    try:
        world = int(raw)
    except ValueError:
        raise ConfigError(f"WORLD_SIZE must be an integer, got {raw!r}") from None
    if world <= 1:
        return 0, 1
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if not dist.is_initialized():
        dev = device if isinstance(device, torch.device) else resolve_device(device)
        backend = backend_for(dev)
        if backend == "nccl":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


@contextmanager
def launched(device: torch.device | str = "auto") -> Iterator[tuple[int, int]]:
    """:func:`init_from_env` for the length of a ``with`` block, and a clean exit afterwards.

    Yields ``(rank, world_size)``; ``device`` chooses the backend as in :func:`init_from_env`. When this call created the process group, leaving the block
    normally waits for every process (a barrier, so no rank tears down gloo's connections while
    another still writes its report) and destroys the group; leaving it with an exception destroys
    the group without waiting. Without this a rank that reaches interpreter exit while the group
    is alive can abort in gloo's destructors ("terminate called without an active exception",
    SIGABRT) and ``torchrun`` reports the whole run as failed. Each plugin CLI's ``train`` runs
    inside this block.
    """
    created = dist.is_available() and not dist.is_initialized()
    rank_, world = init_from_env(device)
    created = created and world > 1
    try:
        yield rank_, world
    except BaseException:
        if created and dist.is_initialized():
            dist.destroy_process_group()
        raise
    if created and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def is_distributed() -> bool:
    """True when a process group with more than one process is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


@dataclass(frozen=True)
class Gathered:
    """A tensor gathered from every process, and where this process's rows sit in it."""

    tensor: Tensor
    offset: int
    sizes: tuple[int, ...]

    @property
    def local(self) -> slice:
        return slice(self.offset, self.offset + self.sizes[rank()])


def _sizes(n: int, device: torch.device) -> list[int]:
    size = torch.tensor([n], device=device, dtype=torch.long)
    out = [torch.zeros_like(size) for _ in range(world_size())]
    dist.all_gather(out, size)
    return [int(s.item()) for s in out]


def _all_gather_padded(x: Tensor, sizes: list[int]) -> Tensor:
    biggest = max(sizes)
    if x.shape[0] < biggest:
        pad = x.new_zeros((biggest - x.shape[0], *x.shape[1:]))
        x = torch.cat([x, pad], dim=0)
    parts = [torch.empty_like(x) for _ in sizes]
    dist.all_gather(parts, x.contiguous())
    return torch.cat([p[:n] for p, n in zip(parts, sizes)], dim=0)


class _GatherWithGrad(torch.autograd.Function):
    """Forward: all-gather. Backward: sum the global gradient over ranks, return the local rows."""

    @staticmethod
    def forward(ctx, x: Tensor, sizes: tuple[int, ...], offset: int) -> Tensor:  # type: ignore[override]
        ctx.offset = offset
        ctx.n = x.shape[0]
        return _all_gather_padded(x.detach(), list(sizes))

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.offset : ctx.offset + ctx.n], None, None


def gather(x: Tensor) -> Gathered:
    """All-gather ``x`` along dim 0 from every process, differentiably (see the module rule)."""
    if not is_distributed():
        return Gathered(x, 0, (int(x.shape[0]),))
    sizes = _sizes(int(x.shape[0]), x.device)
    offset = sum(sizes[: rank()])
    return Gathered(_GatherWithGrad.apply(x, tuple(sizes), offset), offset, tuple(sizes))


def gather_no_grad(x: Tensor) -> Gathered:
    """All-gather without gradient (labels, indices, memory-queue keys)."""
    if not is_distributed():
        return Gathered(x.detach(), 0, (int(x.shape[0]),))
    sizes = _sizes(int(x.shape[0]), x.device)
    offset = sum(sizes[: rank()])
    return Gathered(_all_gather_padded(x.detach(), sizes), offset, tuple(sizes))


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over processes, without gradient (a new tensor; ``x`` is unchanged)."""
    out = x.detach().clone()
    if is_distributed():
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def global_mean(local_sum: Tensor, local_count: Tensor | int) -> Tensor:
    """Mean over all processes of per-query terms whose local sum and count are given.

    Value: ``sum_r local_sum_r / sum_r local_count_r`` on every rank. Gradient: that of
    ``local_sum / global_count`` -- the local part of the global mean (see the module rule).
    """
    count = torch.as_tensor(local_count, device=local_sum.device, dtype=local_sum.dtype)
    total_count = all_reduce_sum(count)
    if bool(total_count <= 0):
        raise InputError("no query contributes to the loss on any process (global count is 0)")
    local = local_sum / total_count
    if not is_distributed():
        return local
    total = all_reduce_sum(local_sum) / total_count
    return local + (total - local.detach())


def scale_for_ddp(loss: Tensor) -> Tensor:
    """Same value, gradient multiplied by the world size (undoes DDP's gradient averaging)."""
    w = world_size()
    if w == 1:
        return loss
    return loss * w - loss.detach() * (w - 1)


def sum_gradients(parameters: Iterable[nn.Parameter] | Iterable[Tensor]) -> None:
    """Sum the ``.grad`` of ``parameters`` over processes, in place (no-op on one process).

    By the module's rule each process holds its local part of the global loss's gradient, so the
    sum is exactly the single-process gradient of the global batch. The gradients travel as one
    flattened buffer per dtype (one all-reduce instead of one per parameter). Every process must
    pass the same parameters in the same order; a parameter whose ``.grad`` is ``None`` on one
    process must be ``None`` on all (it is skipped).
    """
    if not is_distributed():
        return
    by_dtype: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
    for p in parameters:
        if p.grad is not None:
            by_dtype.setdefault((p.grad.dtype, p.grad.device), []).append(p.grad)
    for grads in by_dtype.values():
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n
