"""``label_distance``: positives have continuous labels within a window of each other."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from concord.contract import SamplerExample
from concord.errors import InputError
from concord.samplers.base import PairContext, PairTile, Sampler
from concord.validation import check_choice, check_positive

__all__ = ["LabelDistanceSampler"]


class LabelDistanceSampler(Sampler):
    r"""Positive when continuous labels are within ``window``; every other key is a negative.

    .. math::
        P(i) = \{j : |y_i - y_j| \le w,\ j \ne \mathrm{self}(i)\},\qquad
        N(i) = \{j : |y_i - y_j| > w\}

    For regression targets (age, angle, rating), where "same class" does not exist: the
    positives of ConR (Keramati et al. 2024, https://arxiv.org/abs/2309.06651). With
    ``weighting="gaussian"`` a positive pair is weighted :math:`\exp(-(y_i - y_j)^2 / 2w^2)`, so
    near-identical targets pull harder than pairs at the window's edge.

    Args:
        window: the largest label distance that still counts as positive (``>= 0``).
        weighting: ``"none"`` (every positive weighs 1) or ``"gaussian"`` (requires ``window > 0``).
    """

    registry_name = "label_distance"
    needs_labels = "continuous"

    def __init__(self, *, window: float = 0.0, weighting: Literal["none", "gaussian"] = "none") -> None:
        super().__init__()
        self.window = check_positive("window", window, allow_zero=True)
        self.weighting = check_choice("weighting", weighting, ("none", "gaussian"))
        if weighting == "gaussian" and self.window == 0:
            raise InputError("weighting='gaussian' needs window > 0")

    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        assert ctx.query_labels is not None and ctx.key_labels is not None
        dist = (ctx.query_labels[i0:i1, None] - ctx.key_labels[None, j0:j1]).abs()
        close = dist <= self.window
        not_self = ~ctx.is_self(i0, i1, j0, j1)
        weight = None
        if self.weighting == "gaussian":
            weight = torch.exp(-dist.float() ** 2 / (2 * self.window**2))
        return PairTile(positive=close & not_self, negative=~close & not_self, weight=weight)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        z = torch.randn(6, 4, generator=generator)
        y = torch.tensor([0.0, 0.1, 0.5, 0.55, 1.0, math.pi])
        return [
            SamplerExample(
                init={"window": 0.1},
                bind={"query": z, "key": z, "query_labels": y, "key_labels": y,
                      "self_index": torch.arange(6)},
            ),
            SamplerExample(
                init={"window": 0.2, "weighting": "gaussian"},
                bind={"query": z, "key": z, "query_labels": y, "key_labels": y},
            ),
        ]
