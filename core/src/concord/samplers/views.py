"""``views``: positives are the other views of the same sample (the self-supervised default)."""

from __future__ import annotations

from typing import Any

import torch

from concord.contract import SamplerExample
from concord.samplers.base import PairContext, PairTile, Sampler

__all__ = ["ViewsSampler"]


class ViewsSampler(Sampler):
    r"""Two (or more) views of one sample are positives; every other key is a negative.

    .. math::
        P(i) = \{j : \mathrm{id}_q(i) = \mathrm{id}_k(j),\ j \ne \mathrm{self}(i)\},\qquad
        N(i) = \{j : \mathrm{id}_q(i) \ne \mathrm{id}_k(j),\ j \ne \mathrm{self}(i)\}

    With default ids (``arange``) query ``i`` and key ``i`` are the positive pair, as in SimCLR
    (Chen et al. 2020, https://arxiv.org/abs/2002.05709) / MoCo / CLIP. Keys with id ``-1`` (a memory queue) are always negatives. Losses use this
    sampler implicitly and skip building masks on their fast path.
    """

    registry_name = "views"

    def __init__(self) -> None:
        super().__init__()

    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        same = ctx.same_id(i0, i1, j0, j1)
        not_self = ~ctx.is_self(i0, i1, j0, j1)
        return PairTile(positive=same & not_self, negative=~same & not_self)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        z = torch.randn(6, 4, generator=generator)
        ids = torch.tensor([0, 1, 2, 0, 1, 2])
        return [
            SamplerExample(init={}, bind={"query": z[:3], "key": z[3:]}),
            SamplerExample(
                init={},
                bind={"query": z, "key": z, "query_ids": ids, "key_ids": ids,
                      "self_index": torch.arange(6)},
            ),
        ]
