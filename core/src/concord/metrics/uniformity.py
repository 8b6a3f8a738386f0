"""Uniformity on the hypersphere (Wang & Isola 2020)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from concord.validation import check_embeddings, check_positive

__all__ = ["uniformity"]


def uniformity(x: Tensor, *, t: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Uniformity (Wang & Isola 2020, `Understanding Contrastive Representation Learning through
    Alignment and Uniformity on the Hypersphere <https://arxiv.org/abs/2005.10242>`_, Sec. 4.1):
    the log of the average pairwise Gaussian potential,

    .. math::
        \mathcal{L}_{uniform}(f; t) = \log \mathbb{E}_{x, y \sim p_{data}}
            e^{-t \lVert f(x) - f(y) \rVert_2^2}

    estimated over the :math:`N(N-1)/2` distinct pairs of rows of ``x`` (as the paper's
    ``torch.pdist`` code). Lower is more uniform. The log-mean-exp is computed as a log-sum-exp
    (no underflow when every pair is far apart).

    Args:
        t: :math:`t > 0` (default: ``2``, the paper's choice).
        normalize: L2-normalise the rows first (default: ``True``).

    Shapes:
        x: ``(N, D)`` with ``N >= 2``. Output: scalar (differentiable).
    """
    check_embeddings("x", x, min_rows=2)
    t = check_positive("t", t)
    x = x.float()
    if normalize:
        x = nn.functional.normalize(x, dim=1)
    sq = torch.pdist(x, p=2).pow(2)
    return torch.logsumexp(-t * sq, dim=0) - math.log(sq.numel())
