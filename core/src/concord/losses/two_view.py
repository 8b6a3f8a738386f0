"""The 2N-sample layout shared by NT-Xent and DCL (public: plugins building 2N-sample losses on
:func:`concord.losses.contrast.contrast_terms` use it too): both views are queries and keys.

Global keys are ``[Z1; Z2]`` (every process's first views, then every process's second views,
in rank order). Local query ``i`` of view 1 sits at key row ``offset + i``; its positive is the
same sample's view 2 at row ``N + offset + i``; and symmetrically for view 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from concord import distributed
from concord.errors import InputError
from concord.validation import check_embeddings, check_same_rows

__all__ = ["TwoViewBatch", "two_view_batch"]


@dataclass(frozen=True)
class TwoViewBatch:
    query: Tensor  # (2n, D) local rows: view 1 then view 2
    key: Tensor  # (2N, D) global rows: view 1 then view 2
    positive_index: Tensor  # (2n,)
    self_index: Tensor  # (2n,)
    n_global: int
    offset: int


def check_two_views(z1: Tensor, z2: Tensor) -> None:
    check_embeddings("z1", z1)
    check_embeddings("z2", z2)
    check_same_rows(z1=z1, z2=z2)
    if z1.shape[1] != z2.shape[1]:
        raise InputError(f"z1 and z2 dimensions differ: {tuple(z1.shape)} vs {tuple(z2.shape)}")


def two_view_batch(z1: Tensor, z2: Tensor, *, gather: bool) -> TwoViewBatch:
    """Lay out (already embedded) views for the 2N-sample losses."""
    if gather:
        g1, g2 = distributed.gather(z1), distributed.gather(z2)
        key = torch.cat([g1.tensor, g2.tensor])
        n_global, offset = sum(g1.sizes), g1.offset
    else:
        key = torch.cat([z1, z2])
        n_global, offset = int(z1.shape[0]), 0
    if n_global < 2:
        raise InputError(
            f"a two-view contrastive loss needs at least 2 samples in the (global) batch, got {n_global}"
        )
    local = offset + torch.arange(z1.shape[0], device=z1.device)
    self_index = torch.cat([local, n_global + local])
    positive_index = torch.cat([n_global + local, local])
    return TwoViewBatch(torch.cat([z1, z2]), key, positive_index, self_index, n_global, offset)
