"""The loss contract suite fails on the broken losses it exists to catch (each class below is
one such loss, and its test names what the old suite let through), and reports what it ran."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch
from torch import Tensor

from concord.contract import LossExample
from concord.losses import NTXent
from concord.losses.base import Loss
from concord.testing import check_loss
from concord.testing.declarations import config_round_trip, keyword_only
from concord.testing.loss_suite import (
    HALF_PRECISION_TOLERANCE,
    LOSS_CHECKS,
    loss_determinism,
    loss_half_precision,
)
from concord.validation import check_embeddings


class _SquaredGap(Loss):
    """A correct, deterministic loss: ``scale * mean ||x - y||^2``."""

    def __init__(self, *, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        check_embeddings("x", x)
        check_embeddings("y", y)
        return self.scale * ((x.float() - y.float()) ** 2).sum(dim=1).mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        x = torch.randn(8, 4, generator=generator)
        return [LossExample(init={}, args=(x, x + 0.5 * torch.randn(8, 4, generator=generator)))]


class PositionalScale(_SquaredGap):
    """``scale`` is positional: ``config()`` (keyword-only parameters) drops it silently, and the
    round trip rebuilds the default -- which the old suite accepted."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__(scale=scale)


class DropsFromConfig(_SquaredGap):
    def config(self) -> dict:
        return {}


class CancelsInHalf(_SquaredGap):
    """Claims bf16 / fp16 but cancels nearly equal inputs (``x - y`` of ~1e-3 on values ~1): the
    inputs' rounding (3.9e-3 in bf16) is larger than the gap. It upcasts, so the old check --
    rounded input in half vs the same rounded input in float32 -- saw two equal numbers."""

    half_precision = ("bf16", "fp16")

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        x = 1 + torch.rand(8, 4, generator=generator)
        return [LossExample(init={"scale": 1e6}, args=(x, x + 1e-3 * torch.randn(8, 4, generator=generator)))]


class StableInHalf(CancelsInHalf):
    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        return _SquaredGap.examples(generator)


class SecretlyRandom(_SquaredGap):
    """Draws noise from torch's global generator without declaring it: the old check built the
    example twice under seed 0 and compared -- equal by construction."""

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return super().forward(x, y) + 0.01 * torch.rand(())


class DeclaredRandom(SecretlyRandom):
    stochastic: ClassVar[bool] = True


class DeclaredButFixed(_SquaredGap):
    stochastic: ClassVar[bool] = True


def test_a_positional_constructor_is_rejected():
    with pytest.raises(AssertionError, match=r"keyword-only parameters .* not keyword-only: scale \(positional\)"):
        keyword_only(PositionalScale)
    with pytest.raises(AssertionError, match="keyword-only"):
        check_loss(PositionalScale)


def test_a_config_that_drops_a_parameter_is_rejected():
    with pytest.raises(AssertionError, match=r"config\(\) has keys \[\], the constructor \['scale'\]"):
        config_round_trip(DropsFromConfig)


def test_half_precision_is_checked_against_float64():
    with pytest.raises(AssertionError, match="CancelsInHalf in bf16"):
        loss_half_precision(CancelsInHalf)
    assert loss_half_precision(StableInHalf) is None
    assert loss_half_precision(_SquaredGap) == "declares no half precision"


def test_half_precision_tolerance_is_four_unit_roundoffs():
    assert HALF_PRECISION_TOLERANCE == {"bf16": 4 / 256, "fp16": 4 / 2048}


def test_determinism_tells_declared_from_undeclared_randomness():
    with pytest.raises(AssertionError, match="changes with the global random seed but does not declare"):
        loss_determinism(SecretlyRandom)
    with pytest.raises(AssertionError, match="declares stochastic = True but no seed changes"):
        loss_determinism(DeclaredButFixed)
    assert loss_determinism(DeclaredRandom) is None
    assert loss_determinism(_SquaredGap) is None


def test_the_report_says_which_checks_ran_and_which_did_not_apply():
    report = check_loss(NTXent)
    assert report.ran == [c.__name__ for c in LOSS_CHECKS] and report.not_applicable == {}
    report = check_loss(_SquaredGap)
    assert report.not_applicable == {
        "loss_invariances": "declares no invariances",
        "loss_half_precision": "declares no half precision",
        "loss_bad_inputs": "declares no bad inputs (the NaN check still runs)",
    }
    assert set(report.ran) | set(report.not_applicable) == {c.__name__ for c in LOSS_CHECKS}
    assert "not applicable  loss_half_precision: declares no half precision" in str(report)
