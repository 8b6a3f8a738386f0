r"""InfoNCE with weighted negatives, in checkpointed query blocks (memory ``O(block x N)``).

For anchors :math:`a_i`, keys :math:`k_j` (L2-normalised), :math:`s_{ij} = a_i^\top k_j / \tau`
and non-negative weights :math:`w_{ij}`,

.. math::
    \ell_i = -s_{ii} + \log \sum_j w_{ij}\, e^{s_{ij}},

the form of MEOW's and AdaMEOW's losses (the positive of :math:`a_i` is :math:`k_i`; it enters
the denominator only through its weight :math:`w_{ii}`). The core's
:func:`concord.losses.contrast.contrast_terms` weights positives only, so this module computes
the weighted denominator itself (max-shifted, so it is stable; a zero weight removes the term)
and recomputes each block in the backward pass as the core does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

__all__ = ["weighted_negative_terms"]

WeightFn = Callable[[int, int, Tensor, Tensor], Tensor]


def weighted_negative_terms(anchor: Tensor, key: Tensor, temperature: float, weights: WeightFn,
                            *, block_size: int | None = None) -> Tensor:
    """Per-anchor terms :math:`\\ell_i`, shape ``(N,)``.

    Args:
        anchor, key: ``(N, D)``, already normalised; row ``i`` of each is a positive pair.
        temperature: :math:`\\tau`.
        weights: ``weights(i0, i1, anchor_block, key) -> (i1 - i0, N)`` non-negative weights of
            rows ``i0:i1``.
        block_size: anchors per block (default: all at once).
    """
    n = anchor.shape[0]
    block = n if block_size is None else max(1, int(block_size))
    use_checkpoint = block < n and torch.is_grad_enabled()
    out = []
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)

        def run(a: Tensor, k: Tensor, i0: int = i0, i1: int = i1) -> Tensor:
            logits = (a @ k.t()) / temperature
            w = weights(i0, i1, a, k)
            rows = torch.arange(i1 - i0, device=a.device)
            pos = logits[rows, rows + i0]
            # log sum_j w_ij e^{s_ij} with the usual max shift (a zero weight drops the term)
            shift = logits.detach().max(dim=1, keepdim=True).values
            lse = torch.log((w * torch.exp(logits - shift)).sum(dim=1)) + shift.squeeze(1)
            if bool(torch.isneginf(lse).any()):
                first = int(torch.nonzero(torch.isneginf(lse))[0, 0]) + i0
                raise ValueError(
                    f"anchor {first} has no negative with a positive weight (every key shares its "
                    "clusters); use more clusters or a larger batch"
                )
            return lse - pos

        a_blk = anchor[i0:i1]
        out.append(checkpoint(run, a_blk, key, use_reentrant=False) if use_checkpoint else run(a_blk, key))
    return torch.cat(out)
