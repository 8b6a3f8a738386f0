"""check_follows_inputs: it passes code that allocates where its inputs are, and fails code that
allocates on the default device (the mistake it exists to catch), without a GPU."""

from __future__ import annotations

import pytest
import torch

from concord.testing.devices import check_follows_inputs

X = torch.arange(6.0).reshape(2, 3)


def test_code_that_follows_its_inputs_passes():
    g = torch.Generator()
    check_follows_inputs(lambda: {"sum": X + torch.ones(3, device=X.device),
                                  "draw": torch.rand(3, generator=g.manual_seed(0), device="cpu").to(X.device),
                                  "rows": [torch.arange(2, device=X.device)]})


@pytest.mark.parametrize("wrong", [
    lambda: X + torch.ones(3),                                                    # mixes devices: fails
    lambda: torch.zeros(2).index_add_(0, torch.tensor([0, 1]), X[:, 0]),           # returns meta
    lambda: X[torch.randperm(2, generator=torch.Generator().manual_seed(0))],     # meta index
], ids=["mixed", "meta result", "draw on the default device"])
def test_code_that_allocates_on_the_default_device_fails(wrong):
    with pytest.raises((AssertionError, RuntimeError, NotImplementedError, IndexError)):
        check_follows_inputs(wrong)


def test_dataclasses_and_sparse_tensors_are_compared_field_by_field():
    from dataclasses import dataclass

    @dataclass
    class Pair:
        a: torch.Tensor
        b: torch.Tensor

    check_follows_inputs(lambda: Pair(X.to_sparse_csr(), X * 2))
    with pytest.raises((AssertionError, RuntimeError)):
        check_follows_inputs(lambda: Pair(X, torch.zeros(2, 3)))


def test_every_example_of_an_augmentation():
    from concord.augment import FeatureDropout
    from concord.testing.devices import check_augmentation_follows_inputs

    check_augmentation_follows_inputs(FeatureDropout)

    class DrawsOnTheDefaultDevice(FeatureDropout):
        def apply(self, x, generator):
            return x * (torch.rand(x.shape, generator=generator) >= self.p)

    with pytest.raises((AssertionError, RuntimeError)):
        check_augmentation_follows_inputs(DrawsOnTheDefaultDevice)
