r"""PathSim neighbour selection (Sun et al. 2011, `PathSim: Meta Path-Based Top-K Similarity Search
in Heterogeneous Information Networks <https://doi.org/10.14778/3402707.3402736>`_, Def. 4):

.. math::
    s(i, j) = \frac{2 M_{ij}}{M_{ii} + M_{jj}},

with :math:`M` the meta-path instance counts. MEOW keeps each node's ``k`` most similar
meta-path neighbours (its ``pathsim`` preprocessing, ``nei_max``); node :math:`i` itself has
:math:`s(i, i) = 1`, the maximum, and is always kept.
"""

from __future__ import annotations

import torch
from torch import Tensor

from concord.errors import DataError

__all__ = ["pathsim_top_k"]


def pathsim_top_k(edge_index: Tensor, counts: Tensor, num_nodes: int, k: int) -> tuple[Tensor, Tensor]:
    """Keep, for every row ``i`` of the meta-path graph, the ``k`` entries with the highest
    PathSim (ties: lower column id first); returns the kept edges and their counts."""
    if k < 1:
        raise DataError(f"k must be >= 1, got {k}")
    row, col = edge_index
    diag = torch.zeros(num_nodes, dtype=counts.dtype, device=counts.device)
    loops = row == col
    diag[row[loops]] = counts[loops]
    denom = diag[row] + diag[col]
    sim = torch.where(denom > 0, 2 * counts / denom.clamp_min(1e-12), torch.zeros_like(counts))
    # order by (row, -sim, col): stable sorts from the last key to the first
    order = torch.argsort(col, stable=True)
    order = order[torch.argsort(-sim[order], stable=True)]
    order = order[torch.argsort(row[order], stable=True)]
    r = row[order]
    n_per_row = torch.bincount(r, minlength=num_nodes)
    start = torch.cumsum(n_per_row, 0) - n_per_row
    rank = torch.arange(r.shape[0], device=r.device) - start[r]
    keep = order[rank < k]
    keep = keep.sort().values
    return edge_index[:, keep], counts[keep]
