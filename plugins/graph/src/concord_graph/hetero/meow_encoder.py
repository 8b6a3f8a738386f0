"""The shared two-layer GCN of MEOW / AdaMEOW."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from concord_graph.nn.sparse_operator import SparseOperator

__all__ = ["MeowGCN"]


class MeowGCN(nn.Module):
    r"""Two graph convolutions without bias, PReLU after the first, and a standardisation of the
    whole output (MEOW's ``GCN``; Yu & Li 2023, `arXiv:2212.13847
    <https://arxiv.org/abs/2212.13847>`_):

    .. math::
        Z = \operatorname{std}\!\left(\hat{A}\, \mathrm{PReLU}(\hat{A}\, \mathrm{drop}(H W_1))\, \mathrm{drop}(\cdot W_2)\right),
        \qquad \operatorname{std}(Z) = \frac{Z - \operatorname{mean}(Z)}{\sqrt{\operatorname{var}(Z) + 10^{-5}}},

    where mean and variance run over every entry of :math:`Z` (the authors apply a ``LayerNorm``
    over the full ``(N, d)`` shape, without affine parameters). :math:`\hat{A}` is any normalised
    adjacency as a :class:`~concord_graph.nn.SparseOperator` (a meta-path graph or their average).

    Args:
        in_channels, hidden_channels, out_channels: widths.
        dropout: dropout on :math:`HW` of each layer (default: ``0.2``).

    Shapes:
        x ``(N, in)``, adjacency ``(N, N)`` -> ``(N, out)``.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, *, dropout: float = 0.2) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.empty(in_channels, hidden_channels))
        self.w2 = nn.Parameter(torch.empty(hidden_channels, out_channels))
        self.act = nn.PReLU()
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in (self.w1, self.w2):
            bound = 1.0 / math.sqrt(w.shape[1])
            nn.init.uniform_(w, -bound, bound)
        nn.init.constant_(self.act.weight, 0.25)

    def forward(self, x: Tensor, adjacency: SparseOperator) -> Tensor:
        h = self.act(adjacency @ self.dropout(x @ self.w1))
        z = adjacency @ self.dropout(h @ self.w2)
        return (z - z.mean()) / torch.sqrt(z.var(unbiased=False) + 1e-5)
