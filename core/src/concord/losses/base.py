"""Loss interface.

A loss is an ``nn.Module`` whose keyword-only constructor is its configuration (validated there,
JSON-serialisable through ``config()``) and whose ``forward`` takes embeddings (and labels or
predictions where the method needs them) and returns a scalar.

Call conventions shared by the contrastive losses:

* two views: ``loss(z1, z2)`` with ``z1, z2: (N, D)``; row ``i`` of each is a positive pair;
* supervised: ``loss(features, labels)`` with ``features: (N, V, D)`` (``V`` views) or ``(N, D)``;
* extra negative keys (a :class:`concord.queue.MemoryQueue`, or a tensor) where the loss takes them;
* ``gather=True``: keys from every process, with the gradient rule of :mod:`concord.distributed`.
"""

from __future__ import annotations

import math
from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, Configurable, LossExample
from concord.errors import InputError
from concord.losses.contrast import ContrastTerms
from concord.samplers.base import Sampler
from concord.validation import check_choice, check_positive

__all__ = ["ContrastiveLoss", "Loss", "SamplerSpec"]

SamplerSpec = str | dict[str, Any] | Sampler | None


class Loss(Configurable, nn.Module, metaclass=ABCMeta):
    """Base class of every concord loss.

    Class attributes declare what the contract suite checks:

    ``invariances``
        ``"permutation"`` (shuffling the batch leaves the loss unchanged) and/or ``"scale"``
        (rescaling each embedding by a positive factor leaves it unchanged).
    ``half_precision``
        ``"bf16"`` / ``"fp16"``: half-precision inputs give a finite loss within
        :data:`concord.testing.loss_suite.HALF_PRECISION_TOLERANCE` of the float64 loss.
    ``stochastic``
        ``True`` when ``forward`` draws randomness (from torch's seeded generators): the suite
        then checks that different seeds give different values; otherwise that they give the
        same value.
    """

    invariances: ClassVar[tuple[str, ...]] = ()
    half_precision: ClassVar[tuple[str, ...]] = ()
    stochastic: ClassVar[bool] = False
    registry_name: ClassVar[str] = ""

    def __init__(self) -> None:
        nn.Module.__init__(self)

    def __repr__(self) -> str:
        return Configurable.__repr__(self)

    @classmethod
    @abstractmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        """Small valid calls, built from ``generator``."""

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        """Inputs that must raise ``ValueError`` (beyond the generic NaN / shape checks)."""
        return []


def _build_sampler(spec: SamplerSpec) -> Sampler | None:
    """``None`` / ``"views"`` mean the implicit two-view sampler (no masks are built)."""
    if spec is None or spec == "views" or spec == {"name": "views"}:
        return None
    if isinstance(spec, Sampler):
        return spec
    from concord.registry import build

    if isinstance(spec, str):
        return build("samplers", spec)
    if isinstance(spec, dict):
        if "name" not in spec:
            raise InputError(f"a sampler given as a dict needs a 'name' key, got {spec!r}")
        options = {k: v for k, v in spec.items() if k != "name"}
        return build("samplers", spec["name"], **options)
    raise InputError(f"sampler must be a name, a dict with 'name', or a Sampler; got {spec!r}")


class ContrastiveLoss(Loss):
    """Shared configuration of the InfoNCE family (temperature, normalisation, gathering).

    Args:
        temperature: softmax temperature :math:`\\tau > 0` (the initial value if learnable).
        learn_temperature: learn :math:`\\log \\tau` as a parameter (CLIP, Radford et al. 2021).
        normalize: L2-normalise embeddings (cosine similarity), as every paper here does.
        gather: use keys from every process (:mod:`concord.distributed`).
        block_size: compute the loss in blocks of this many queries, each recomputed in the
            backward pass (activation checkpointing), so memory is ``O(block_size x keys)``
            instead of ``O(queries x keys)``. ``None``: one block.
        empty_positives: what a query without any positive does: ``"error"`` (default) raises;
            ``"ignore"`` leaves it out of the mean (explicit opt-in, never silent).
    """

    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(
        self,
        *,
        temperature: float,
        learn_temperature: bool,
        normalize: bool,
        gather: bool,
        block_size: int | None,
        empty_positives: Literal["error", "ignore"],
    ) -> None:
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.learn_temperature = bool(learn_temperature)
        self.normalize = bool(normalize)
        self.gather = bool(gather)
        if block_size is not None and (
            isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1
        ):
            raise InputError(f"block_size must be None or an integer >= 1, got {block_size!r}")
        self.block_size = block_size
        self.empty_positives = check_choice("empty_positives", empty_positives, ("error", "ignore"))
        if self.learn_temperature:
            self.log_temperature = nn.Parameter(torch.tensor(math.log(self.temperature)))

    def reduce(self, terms: ContrastTerms) -> Tensor:
        """Mean of the per-query terms: over every process's queries with ``gather=True`` (the
        rule of :mod:`concord.distributed`), over this process's queries otherwise."""
        if self.gather:
            return distributed.global_mean(terms.sum(), terms.count())
        count = terms.count()
        if int(count) == 0:
            raise InputError("no query contributes to the loss (every query lacks a positive)")
        return terms.sum() / count

    def tau(self) -> Tensor | float:
        """The current temperature (a tensor when learnable)."""
        if self.learn_temperature:
            return self.log_temperature.exp()
        return self.temperature

    def embed(self, x: Tensor) -> Tensor:
        """Half-precision inputs are contrasted in float32; optionally L2-normalised."""
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        return nn.functional.normalize(x, dim=-1) if self.normalize else x
