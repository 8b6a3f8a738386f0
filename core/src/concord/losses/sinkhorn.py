r"""Sinkhorn-Knopp equipartition of samples over prototypes, in the log domain, across processes.

Given scores :math:`S \in \mathbb{R}^{B \times K}` of :math:`B` samples against :math:`K`
prototypes, the codes are the :math:`Q` closest to :math:`\exp(S / \varepsilon)` whose
prototype marginals are uniform (each prototype receives :math:`B/K` samples) and whose sample
marginals are 1 (Caron et al. 2020, `SwAV <https://arxiv.org/abs/2006.09882>`_, Sec. 3.1 and
Appendix A; Cuturi 2013). Each iteration rescales the rows (prototypes) to :math:`1/K`, then
the columns (samples) to :math:`1/B`; finally every column is scaled to sum to 1.

The authors' code exponentiates first, ``Q = exp(S / eps)``: with :math:`\varepsilon = 0.05` a
score above ~4.4 already overflows half precision, and unnormalised features overflow float32
too, giving ``inf / inf = NaN`` codes. Here every step is the same rescaling written on
:math:`\log Q` (a rescaling is a subtraction of a log-sum-exp), in float32 (float64 stays
float64): the codes are those of the authors' algorithm in exact arithmetic, and finite for any
finite scores. The authors' first step (``Q /= sum(Q)``) is a global factor that the first row
rescaling removes, so it is left out.

Across processes the row sums run over every process's samples (the authors' ``all_reduce``):
each process contributes the log-sum-exp of its own columns. Extra columns that every process
holds identically (a SwAV queue kept with :class:`concord.queue.MemoryQueue`) enter the sums
once, not once per process.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from concord import distributed

__all__ = ["sinkhorn_knopp"]


@torch.no_grad()
def sinkhorn_knopp(
    scores: Tensor,
    *,
    epsilon: float = 0.05,
    iterations: int = 3,
    shared: Tensor | None = None,
    gather: bool = False,
) -> Tensor:
    """Codes of the local samples: ``(B_local, K)``, each row summing to 1.

    Args:
        scores: ``(B_local, K)`` scores of this process's samples.
        epsilon: :math:`\\varepsilon` (default: ``0.05``).
        iterations: Sinkhorn iterations (default: ``3``).
        shared: ``(B_shared, K)`` scores of columns every process holds identically (counted once).
        gather: sum over every process's samples (default: ``False``: this process's only).
    """
    dtype = torch.float64 if scores.dtype == torch.float64 else torch.float32
    log_q = scores.detach().to(dtype).T / epsilon  # (K, B_local), the authors' orientation
    log_s = None if shared is None else shared.detach().to(dtype).T / epsilon
    k = int(log_q.shape[0])
    n_local = torch.tensor(float(log_q.shape[1]), dtype=dtype, device=log_q.device)
    n_total = distributed.all_reduce_sum(n_local) if gather else n_local
    if log_s is not None:
        n_total = n_total + log_s.shape[1]
    log_k, log_b = math.log(k), torch.log(n_total)
    for _ in range(iterations):
        # rows: each prototype's total mass becomes 1/K (sums over every process's samples)
        row = _row_logsumexp(log_q, log_s, gather)
        log_q = log_q - (row + log_k)[:, None]
        if log_s is not None:
            log_s = log_s - (row + log_k)[:, None]
        # columns: each sample's total mass becomes 1/B (local: a column lives on one process)
        log_q = log_q - (torch.logsumexp(log_q, dim=0, keepdim=True) + log_b)
        if log_s is not None:
            log_s = log_s - (torch.logsumexp(log_s, dim=0, keepdim=True) + log_b)
    return torch.exp(log_q + log_b).T  # columns sum to 1: an assignment per sample


def _row_logsumexp(log_q: Tensor, log_s: Tensor | None, gather: bool) -> Tensor:
    row = torch.logsumexp(log_q, dim=1)  # (K,); -inf for a process without samples
    if gather and distributed.is_distributed():
        row = torch.logsumexp(distributed.gather_no_grad(row[None]).tensor, dim=0)
    if log_s is not None:
        row = torch.logaddexp(row, torch.logsumexp(log_s, dim=1))
    return row
