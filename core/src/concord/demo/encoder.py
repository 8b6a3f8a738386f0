"""The demo's encoder: a two-layer MLP backbone on the 64 pixels and a projection head (SimCLR,
Chen et al. 2020, `arXiv:2002.05709 <https://arxiv.org/abs/2002.05709>`_: the loss sees the
head's output, the probes the backbone's)."""

from __future__ import annotations

from typing import Protocol

from torch import Tensor, nn

__all__ = ["Encoder"]


class Sizes(Protocol):
    hidden: int
    dim: int
    projection: int


class Encoder(nn.Module):
    def __init__(self, cfg: Sizes, in_features: int = 64) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(in_features, cfg.hidden), nn.BatchNorm1d(cfg.hidden), nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.dim),
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(cfg.dim, cfg.projection))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))
