"""What every component declares so that the shipped contract suite can check it.

A component's constructor is its configuration: keyword-only, typed, validated, and
JSON-serialisable. :class:`Configurable` turns that signature into ``config()`` and ``repr``.
Each component also declares small example inputs (:class:`LossExample`,
:class:`SamplerExample`, :class:`AugmentationExample`) and inputs that must be refused
(:class:`BadInput`); :mod:`concord.testing` runs the same checks over every registered component.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = [
    "AugmentationExample",
    "BadInput",
    "Configurable",
    "LossExample",
    "SamplerExample",
]


class Configurable:
    """Mixin: ``config()`` and ``repr`` from the keyword-only constructor parameters.

    Convention: every keyword-only constructor parameter ``p`` is stored as ``self.p`` (the value
    given, before any conversion to tensors or parameters), so ``type(obj)(**obj.config())``
    rebuilds an equal component.
    """

    @classmethod
    def _config_parameters(cls) -> list[inspect.Parameter]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]

    def config(self) -> dict[str, Any]:
        """The constructor arguments as a JSON-serialisable dict."""
        out = {}
        for p in self._config_parameters():
            value = getattr(self, p.name)
            if isinstance(value, Configurable):
                value = {"name": getattr(value, "registry_name", type(value).__name__)} | value.config()
            out[p.name] = value
        json.dumps(out)  # raises TypeError early if a component breaks the contract
        return out

    def extra_repr(self) -> str:  # nn.Module hook; also used by __repr__ below
        parts = []
        for p in self._config_parameters():
            value = getattr(self, p.name)
            if p.default is not inspect.Parameter.empty and value == p.default:
                continue  # repr shows what differs from the defaults
            parts.append(f"{p.name}={value!r}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


@dataclass
class LossExample:
    """A small valid call of a loss.

    Args:
        init: constructor keyword arguments.
        args: positional inputs of ``forward`` (tensors, labels, ...).
        kwargs: keyword inputs of ``forward``.
        grad_args: indices into ``args`` that must receive a finite, non-zero gradient
            (default: every floating-point tensor in ``args``).
        batch_args: indices into ``args`` that share the batch dimension 0 and are permuted
            together for the ``"permutation"`` invariance (default: every tensor in ``args``).
        scale_args: indices into ``args`` whose rows may be rescaled by positive factors for the
            ``"scale"`` invariance (default: every floating-point tensor in ``args``).
        batch_kwargs: names of ``kwargs`` permuted with the batch (e.g. per-row labels).
    """

    init: dict[str, Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    grad_args: tuple[int, ...] | None = None
    batch_args: tuple[int, ...] | None = None
    scale_args: tuple[int, ...] | None = None
    batch_kwargs: tuple[str, ...] = ()


@dataclass
class BadInput:
    """An input (or constructor argument) that must raise ``ValueError`` matching ``match``.

    With ``args is None`` the constructor itself must raise.
    """

    init: dict[str, Any]
    args: tuple[Any, ...] | None
    match: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    why: str = ""


@dataclass
class SamplerExample:
    """Constructor arguments and ``bind`` arguments of a sampler."""

    init: dict[str, Any]
    bind: dict[str, Any]


@dataclass
class AugmentationExample:
    """Constructor arguments and one input of an augmentation.

    Args:
        check: optional ``check(input, output)`` that asserts what the augmentation promises
            (e.g. node count unchanged); raise ``AssertionError`` on failure.
        random: whether two different generator seeds are expected to give different outputs.
    """

    init: dict[str, Any]
    input: Any
    check: Callable[[Any, Any], None] | None = None
    random: bool = True


def seeded(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (what examples use to build their inputs)."""
    g = torch.Generator()
    g.manual_seed(seed)
    return g
