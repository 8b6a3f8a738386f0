"""Composition of augmentations."""

from __future__ import annotations

from typing import Any

import torch

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError

__all__ = ["Compose"]


class Compose(Augmentation):
    """Apply augmentations in order, all drawing from the one generator.

    Not a published method: the composition every augmentation pipeline uses.

    Args:
        steps: each a registered augmentation name, a dict ``{"name": ..., **options}``, or an
            :class:`Augmentation` instance. Any domain's augmentations compose this way, e.g.
            ``Compose(steps=[{"name": "graph.drop_edges", "p": 0.2}, "graph.mask_features"])``.
    """

    registry_name = "compose"

    def __init__(self, *, steps: list[Any]) -> None:
        from concord.registry import build

        if not isinstance(steps, (list, tuple)) or not steps:
            raise InputError(f"steps must be a non-empty list, got {steps!r}")
        built: list[Augmentation] = []
        for i, step in enumerate(steps):
            if isinstance(step, Augmentation):
                built.append(step)
            elif isinstance(step, str):
                built.append(build("augmentations", step))
            elif isinstance(step, dict) and "name" in step:
                opts = {k: v for k, v in step.items() if k != "name"}
                built.append(build("augmentations", step["name"], **opts))
            else:
                raise InputError(
                    f"steps[{i}] must be a name, a dict with 'name', or an Augmentation; got {step!r}"
                )
        self._steps = built
        self.steps = [
            {"name": s.registry_name or type(s).__name__, **s.config()} for s in built
        ]

    def apply(self, x: Any, generator: torch.Generator | None) -> Any:
        for step in self._steps:
            x = step(x, generator=generator)
        return x

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        x = torch.randn(5, 6, generator=generator)
        return [
            AugmentationExample(
                init={"steps": [{"name": "feature_mask", "p": 0.3}, "gaussian_noise"]}, input=x
            )
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"steps": []}, None, "non-empty"),
            BadInput({"steps": ["no_such_aug"]}, None, "no augmentation named"),
            BadInput({"steps": [{"name": "feature_mask", "q": 1}]}, None, "unknown option"),
        ]
