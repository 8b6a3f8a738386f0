"""Per-query results computed in blocks of query rows, each recomputed in the backward pass.

The losses whose per-query term is not a log-sum-exp (TCM's hinge sums, iSogCLR's weighted
sums, CACR's weighted distances, ...) cannot use :func:`concord.losses.contrast.contrast_terms`,
but they share its memory rule: a ``(block, M)`` tile at a time, checkpointed
(``torch.utils.checkpoint``) when gradients are needed, so peak memory is ``O(block x M)`` and
not ``O(N x M)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from concord.errors import InputError

__all__ = ["check_block_size", "row_blocks"]

BlockFn = Callable[..., Tensor | tuple[Tensor, ...]]
"""``fn(i0, i1, query_block, *shared) -> (i1 - i0, ...)`` tensor or tuple of such tensors."""


def check_block_size(block_size: int | None) -> int | None:
    """``None`` or an integer >= 1 (the message names the bad value)."""
    if block_size is not None and (
        isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1
    ):
        raise InputError(f"block_size must be None or an integer >= 1, got {block_size!r}")
    return block_size


def row_blocks(
    fn: BlockFn, query: Tensor, *shared: Tensor, block_size: int | None = None
) -> tuple[Tensor, ...]:
    """Call ``fn(i0, i1, query[i0:i1], *shared)`` on consecutive row blocks of ``query`` and
    concatenate each of its outputs along dim 0.

    ``fn`` must be a pure function of its tensor arguments (and of tensors it closes over that do
    not change between the forward and the backward pass): with gradients enabled and more than
    one block, its graph is dropped after the forward pass and rebuilt in the backward pass.
    """
    n = int(query.shape[0])
    block = n if block_size is None else max(1, int(block_size))
    use_checkpoint = block < n and torch.is_grad_enabled() and any(
        t.requires_grad for t in (query, *shared)
    )
    parts: list[tuple[Tensor, ...]] = []
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        if use_checkpoint:
            out = checkpoint(fn, i0, i1, query[i0:i1], *shared, use_reentrant=False)
        else:
            out = fn(i0, i1, query[i0:i1], *shared)
        parts.append(out if isinstance(out, tuple) else (out,))
    if not parts:
        raise InputError("no query rows to compute a loss over")
    return tuple(torch.cat(column) for column in zip(*parts))
