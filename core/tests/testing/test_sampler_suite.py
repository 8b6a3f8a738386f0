"""The sampler contract suite fails on the broken samplers it exists to catch."""

from __future__ import annotations

import pytest
import torch

from concord.contract import SamplerExample
from concord.samplers import PairTile, Sampler
from concord.testing import check_sampler
from concord.testing.declarations import keyword_only
from concord.testing.sampler_suite import SAMPLER_CHECKS, sampler_determinism


class _Drop(Sampler):
    """Every pair whose key column is even is a negative, the rest positive (not self-aware;
    a fixture only)."""

    def __init__(self, *, every: int = 2) -> None:
        self.every = every

    def tile(self, ctx, state, i0, i1, j0, j1):
        cols = torch.arange(j0, j1) % self.every == 0
        neg = cols[None, :].expand(i1 - i0, -1) if state is None else state[i0:i1, j0:j1]
        return PairTile(positive=~neg, negative=neg.clone())

    @classmethod
    def examples(cls, generator):
        z = torch.randn(5, 3, generator=generator)
        return [SamplerExample(init={}, bind={"query": z, "key": z})]


class PositionalEvery(_Drop):
    def __init__(self, every: int = 2) -> None:
        super().__init__(every=every)


class RandomNegatives(_Drop):
    """Draws its negatives in ``prepare`` from the global generator without declaring it: the old
    check bound the same example twice and compared the masks -- equal under one seed."""

    def prepare(self, ctx):
        return torch.rand(ctx.n_query, ctx.n_key) < 0.5


class DeclaredRandomNegatives(RandomNegatives):
    stochastic = True


def test_positional_constructor_is_rejected():
    with pytest.raises(AssertionError, match=r"not keyword-only: every \(positional\)"):
        keyword_only(PositionalEvery)


def test_undeclared_randomness_is_caught_and_declared_randomness_checked():
    with pytest.raises(AssertionError, match="change with the global random seed"):
        sampler_determinism(RandomNegatives)
    assert sampler_determinism(DeclaredRandomNegatives) is None
    assert sampler_determinism(_Drop) is None


def test_report_lists_every_check():
    assert check_sampler(_Drop).ran == [c.__name__ for c in SAMPLER_CHECKS]
