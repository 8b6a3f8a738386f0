"""The sampler contract suite: the same checks for every registered sampler.

disjoint boolean masks of the right shape and non-negative weights; every tiling agrees with the
dense answer; seeded determinism (different seeds differ only for a sampler that declares
``stochastic = True``); declared and generic bad inputs of ``bind``; a keyword-only constructor
whose ``config()`` rebuilds the sampler.
"""

from __future__ import annotations

from typing import Any

import torch

from concord.contract import BadInput, seeded
from concord.testing.declarations import config_round_trip, declared_examples, keyword_only
from concord.testing.refusals import check_refused, expect_value_error
from concord.testing.report import Check, SuiteReport, run_checks

__all__ = ["SAMPLER_CHECKS", "check_sampler"]


def _bind(cls: type, ex: Any, seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return cls(**ex.init).bind(**ex.bind)


def sampler_masks(cls: type) -> str | None:
    for ex in declared_examples(cls):
        pairs = _bind(cls, ex)
        n, m = pairs.shape
        t = pairs.dense()
        for name in ("positive", "negative"):
            mask = getattr(t, name)
            assert mask.dtype == torch.bool and mask.shape == (n, m), f"{name}: {mask.dtype} {tuple(mask.shape)}"
        assert not bool((t.positive & t.negative).any()), "a pair is both positive and negative"
        if t.weight is not None:
            assert t.weight.shape == (n, m) and bool(torch.isfinite(t.weight).all())
            assert bool((t.weight[t.positive] >= 0).all()), "negative weight on a positive pair"
    return None


def sampler_tiles(cls: type) -> str | None:
    for ex in declared_examples(cls):
        pairs = _bind(cls, ex)
        n, m = pairs.shape
        dense = pairs.dense()
        for rows, cols in ((1, 1), (2, 3), (3, max(1, m // 2))):
            for i0 in range(0, n, rows):
                for j0 in range(0, m, cols):
                    i1, j1 = min(i0 + rows, n), min(j0 + cols, m)
                    t = pairs.tile(i0, i1, j0, j1)
                    assert torch.equal(t.positive, dense.positive[i0:i1, j0:j1]), "tile positives differ"
                    assert torch.equal(t.negative, dense.negative[i0:i1, j0:j1]), "tile negatives differ"
                    if dense.weight is not None:
                        assert t.weight is not None
                        torch.testing.assert_close(t.weight, dense.weight[i0:i1, j0:j1])
    return None


def _same_tile(a: Any, b: Any) -> bool:
    same_w = (a.weight is None) == (b.weight is None) and (a.weight is None or torch.equal(a.weight, b.weight))
    return torch.equal(a.positive, b.positive) and torch.equal(a.negative, b.negative) and same_w


def sampler_determinism(cls: type) -> str | None:
    """Same seed, same masks and weights on fresh instances; different seeds change them only
    for a sampler that declares ``stochastic = True`` (and then on some example)."""
    stochastic = bool(getattr(cls, "stochastic", False))
    varies = False
    for ex in declared_examples(cls):
        first = _bind(cls, ex, 0).dense()
        assert _same_tile(first, _bind(cls, ex, 0).dense()), f"{cls.__name__}: same seed, different pairs"
        changed = any(not _same_tile(first, _bind(cls, ex, s).dense()) for s in (1, 2, 3))
        if changed and not stochastic:
            raise AssertionError(
                f"{cls.__name__}: the pairs change with the global random seed but the sampler does "
                "not declare stochastic = True"
            )
        varies = varies or changed
    if stochastic:
        assert varies, f"{cls.__name__} declares stochastic = True but no seed changes its pairs"
    return None


def sampler_bad_inputs(cls: type) -> str | None:
    bads = list(getattr(cls, "bad_inputs", lambda g: [])(seeded(0)))
    z = torch.randn(4, 3, generator=seeded(0))
    bads += [
        BadInput({}, (), "query must be 2-D|2-D", kwargs={"query": z[0], "key": z}),
        BadInput({}, (), "dimensions differ", kwargs={"query": z, "key": z[:, :2]}),
        BadInput({}, (), "NaN|non-finite", kwargs={"query": z * float("nan"), "key": z}),
        BadInput({}, (), "query_ids must be", kwargs={"query": z, "key": z, "query_ids": torch.arange(3)}),
    ]
    ex = declared_examples(cls)[0]
    for bad in bads:
        if bad.args is None:
            check_refused(cls, bad, lambda obj, b: None)
        else:
            obj = cls(**ex.init) if not bad.init else cls(**bad.init)
            expect_value_error(lambda obj=obj, bad=bad: obj.bind(**bad.kwargs), bad.match,
                               f"{cls.__name__}.bind {bad.why or bad.match}")
    return None


SAMPLER_CHECKS: list[Check] = [
    keyword_only, sampler_masks, sampler_tiles, sampler_determinism, sampler_bad_inputs,
    config_round_trip,
]


def check_sampler(cls: type) -> SuiteReport:
    """Run every sampler check on ``cls``; returns which checks ran."""
    return run_checks(cls, SAMPLER_CHECKS)
