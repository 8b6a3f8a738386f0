"""The augmentation contract suite: the same checks for every registered augmentation.

the input is never mutated; same generator seed, same output, whatever the global seed (all
randomness comes from the explicit generator); different seeds, different outputs when the
example is random; the example's own promise (``check``); bad inputs; a keyword-only constructor
whose ``config()`` rebuilds the augmentation.
"""

from __future__ import annotations

import torch

from concord.contract import seeded
from concord.testing.declarations import config_round_trip, declared_examples, keyword_only
from concord.testing.refusals import check_refused
from concord.testing.report import Check, SuiteReport, run_checks
from concord.testing.snapshots import assert_same, differs, snapshot

__all__ = ["AUGMENTATION_CHECKS", "check_augmentation"]


def augmentation_no_mutation(cls: type) -> str | None:
    for ex in declared_examples(cls):
        before = snapshot(ex.input)
        cls(**ex.init)(ex.input, generator=seeded(0))
        assert_same(ex.input, before, f"{cls.__name__} input after augmentation")
    return None


def augmentation_determinism(cls: type) -> str | None:
    """Same generator seed -> same output, also under a different global seed (catches an
    augmentation that draws from torch's global generator instead of ``generator``); different
    seeds -> some different output for a random example."""
    for ex in declared_examples(cls):
        aug = cls(**ex.init)
        torch.manual_seed(0)
        a = aug(ex.input, generator=seeded(3))
        torch.manual_seed(1)
        b = aug(ex.input, generator=seeded(3))
        assert type(a) is type(ex.input), f"{cls.__name__} returned {type(a).__name__}, not {type(ex.input).__name__}"
        assert_same(a, b, f"{cls.__name__} output with the same generator seed (global seeds 0 and 1)")
        if ex.random:
            outs = [aug(ex.input, generator=seeded(s)) for s in range(4, 9)]
            assert any(differs(a, o) for o in outs), f"{cls.__name__}: different seeds, same output"
    return None


def augmentation_promise(cls: type) -> str | None:
    checked = False
    for ex in declared_examples(cls):
        if ex.check is not None:
            ex.check(ex.input, cls(**ex.init)(ex.input, generator=seeded(5)))
            checked = True
    return None if checked else "no example declares a check of its promise"


def augmentation_bad_inputs(cls: type) -> str | None:
    bads = cls.bad_inputs(seeded(0))
    if not bads:
        return "declares no bad inputs"
    for bad in bads:
        check_refused(cls, bad, lambda obj, b: obj(*b.args, generator=seeded(0), **b.kwargs))
    return None


AUGMENTATION_CHECKS: list[Check] = [
    keyword_only, augmentation_no_mutation, augmentation_determinism,
    augmentation_promise, augmentation_bad_inputs, config_round_trip,
]


def check_augmentation(cls: type) -> SuiteReport:
    """Run every augmentation check on ``cls``; returns which checks ran."""
    return run_checks(cls, AUGMENTATION_CHECKS)
