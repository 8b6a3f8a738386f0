"""Augmentation interface: a pure function of one sample or batch and an explicit generator.

``aug(x, generator=g)`` returns a *new* object of ``x``'s domain (a tensor, a PyG ``Data``, a
sequence, ...) and never mutates ``x``. All randomness comes from ``generator``, so two calls with
equally seeded generators give equal results. With ``generator=None`` torch's global generator
is used (convenient, not reproducible across code changes).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor

from concord.contract import AugmentationExample, BadInput, Configurable
from concord.errors import InputError

__all__ = ["Augmentation", "random_uniform"]


def random_uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``U[0, 1)`` draws from ``generator`` (on the generator's device), moved to ``device``."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(shape, generator=generator, device=gen_device).to(device)


class Augmentation(Configurable, ABC):
    """Base class. Subclasses implement :meth:`apply` and declare examples."""

    registry_name: ClassVar[str] = ""

    def __call__(self, x: Any, *, generator: torch.Generator | None = None) -> Any:
        if generator is not None and not isinstance(generator, torch.Generator):
            raise InputError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return self.apply(x, generator)

    @abstractmethod
    def apply(self, x: Any, generator: torch.Generator | None) -> Any:
        """Return the augmented copy of ``x``; never modify ``x``."""

    @classmethod
    @abstractmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        """Small inputs the contract suite augments."""

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        """Constructor arguments or inputs that must raise ``ValueError``."""
        return []
