"""Semantic (meta-path level) attention of HAN."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["SemanticAttention"]


class SemanticAttention(nn.Module):
    r"""Fuse per-meta-path embeddings with learned weights (Wang et al. 2019, `Heterogeneous Graph
    Attention Network <https://arxiv.org/abs/1903.07293>`_, Eq. 7-9; used by HeCo and MEOW):

    .. math::
        w_m = \frac{1}{N} \sum_i q^\top \tanh(W z^m_i + b), \qquad
        \beta_m = \operatorname{softmax}_m(w_m), \qquad z = \sum_m \beta_m z^m.

    Args:
        channels: embedding size.
        dropout: dropout on :math:`q` (default: ``0.0``).

    Shapes:
        a list of ``M`` tensors ``(N, d)`` -> ``(N, d)``.
    """

    def __init__(self, channels: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, channels)
        self.q = nn.Parameter(torch.empty(1, channels))
        self.dropout = nn.Dropout(dropout)
        nn.init.xavier_normal_(self.fc.weight, gain=1.414)
        nn.init.xavier_normal_(self.q, gain=1.414)
        self.last_beta: Tensor | None = None

    def forward(self, embeddings: list[Tensor]) -> Tensor:
        q = self.dropout(self.q)
        scores = torch.stack([(torch.tanh(self.fc(z)).mean(dim=0) * q).sum() for z in embeddings])
        beta = torch.softmax(scores, dim=0)
        self.last_beta = beta.detach()
        return sum(b * z for b, z in zip(beta, embeddings))
