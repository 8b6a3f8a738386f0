"""The augmentation contract suite fails on the broken augmentations it exists to catch."""

from __future__ import annotations

import pytest
import torch

from concord.augment import Augmentation, GaussianNoise
from concord.contract import AugmentationExample
from concord.testing import check_augmentation
from concord.testing.augmentation_suite import augmentation_determinism
from concord.testing.declarations import keyword_only


class IgnoresItsGenerator(Augmentation):
    """Draws from torch's global generator, not from ``generator``."""

    def __init__(self, *, std: float = 1.0) -> None:
        self.std = std

    def apply(self, x, generator):
        return x + self.std * torch.randn(x.shape)  # torch's global generator

    @classmethod
    def examples(cls, generator):
        return [AugmentationExample(init={}, input=torch.zeros(3, 2))]


class PositionalStd(IgnoresItsGenerator):
    def __init__(self, std: float = 1.0) -> None:
        super().__init__(std=std)


def test_an_augmentation_that_ignores_its_generator_is_caught():
    """Same generator seed under global seeds 0 and 1: the outputs differ."""
    with pytest.raises(AssertionError, match="same generator seed"):
        augmentation_determinism(IgnoresItsGenerator)


def test_positional_constructor_is_rejected():
    with pytest.raises(AssertionError, match=r"not keyword-only: std \(positional\)"):
        keyword_only(PositionalStd)


def test_report():
    report = check_augmentation(GaussianNoise)
    assert "augmentation_determinism" in report.ran and report.not_applicable == {}
