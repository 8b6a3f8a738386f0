"""``labels``: positives share a discrete class label (supervised contrastive learning)."""

from __future__ import annotations

from typing import Any

import torch

from concord.contract import SamplerExample
from concord.samplers.base import PairContext, PairTile, Sampler

__all__ = ["LabelsSampler"]


class LabelsSampler(Sampler):
    r"""Keys with the query's label are positives, keys with another label negatives.

    .. math::
        P(i) = \{j : y_i = y_j,\ j \ne \mathrm{self}(i)\},\qquad
        N(i) = \{j : y_i \ne y_j\}

    As in SupCon (Khosla et al. 2020, https://arxiv.org/abs/2004.11362, Eq. 2), every other view
    of every sample of the same class is a positive.
    """

    registry_name = "labels"
    needs_labels = "discrete"

    def __init__(self) -> None:
        super().__init__()

    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        assert ctx.query_labels is not None and ctx.key_labels is not None
        same = ctx.query_labels[i0:i1, None] == ctx.key_labels[None, j0:j1]
        not_self = ~ctx.is_self(i0, i1, j0, j1)
        return PairTile(positive=same & not_self, negative=~same & not_self)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        z = torch.randn(8, 4, generator=generator)
        y = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1])
        return [
            SamplerExample(
                init={},
                bind={"query": z, "key": z, "query_labels": y, "key_labels": y,
                      "self_index": torch.arange(8)},
            ),
            SamplerExample(
                init={},
                bind={"query": z[:3], "key": z, "query_labels": y[:3], "key_labels": y},
            ),
        ]
