"""Sampler interface: which (query, key) pairs are positive, which negative, with what weight.

A sampler is configured once (its constructor) and *bound* to a batch with :meth:`Sampler.bind`.
The bound object, :class:`Pairs`, answers per tile -- rows ``i0:i1`` of the queries against
columns ``j0:j1`` of the keys -- so a loss can walk a batch far larger than an ``N x M`` matrix
allows. Masks are built from per-row / per-column vectors (ids, labels), never stored whole.

Writing a sampler (the extension hooks, public and stable):

* :meth:`Sampler.tile` (required): the :class:`PairTile` of rows ``i0:i1`` and columns
  ``j0:j1``, from the validated batch (:class:`PairContext`) and the per-batch state;
* :meth:`Sampler.prepare` (optional): per-batch precomputation done once in ``bind`` (e.g. each
  query's top-k keys); its result is the ``state`` passed to every ``tile`` call;
* :meth:`Sampler.label_kind` (optional): which labels the bound batch must carry, when that
  depends on the instance (a sampler wrapping another answers with the other's); the default
  returns the class attribute ``needs_labels``.

``Pairs.tile`` checks the bounds and calls ``Sampler.tile``; a loss never calls the hooks itself.

Identity conventions, shared by every sampler:

``query_ids`` / ``key_ids``
    Integer id of the *sample* each row was made from (default ``arange``). Two views of one
    image share an id. Keys that come from no current sample (a memory queue) have id ``-1``.
``self_index``
    For each query, the key row holding that very same embedding, or ``-1``. That pair is
    neither positive nor negative (SimCLR and SupCon drop it from the denominator).
``query_labels`` / ``key_labels``
    Class labels (integers) or continuous targets, for supervised samplers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from concord.contract import Configurable, SamplerExample
from concord.errors import InputError
from concord.validation import check_embeddings, check_labels

__all__ = ["PairContext", "PairTile", "Pairs", "Sampler"]


@dataclass(frozen=True)
class PairTile:
    """Masks for one tile: ``positive`` and ``negative`` are disjoint bool tensors of the tile's
    shape; ``weight`` (float, same shape) weights the positive pairs (``None`` = all 1)."""

    positive: Tensor
    negative: Tensor
    weight: Tensor | None = None


@dataclass(frozen=True)
class PairContext:
    """A batch as a sampler sees it (validated; see the module docstring for the fields)."""

    query: Tensor
    key: Tensor
    query_ids: Tensor
    key_ids: Tensor
    self_index: Tensor
    query_labels: Tensor | None
    key_labels: Tensor | None

    @property
    def n_query(self) -> int:
        return int(self.query.shape[0])

    @property
    def n_key(self) -> int:
        return int(self.key.shape[0])

    def same_id(self, i0: int, i1: int, j0: int, j1: int) -> Tensor:
        q = self.query_ids[i0:i1, None]
        k = self.key_ids[None, j0:j1]
        return (q == k) & (q >= 0)

    def is_self(self, i0: int, i1: int, j0: int, j1: int) -> Tensor:
        cols = torch.arange(j0, j1, device=self.self_index.device)
        return self.self_index[i0:i1, None] == cols[None, :]


class Pairs:
    """A sampler bound to one batch. Call :meth:`tile` (or :meth:`dense` for small batches)."""

    def __init__(self, sampler: Sampler, ctx: PairContext, state: Any = None) -> None:
        self.sampler = sampler
        self.ctx = ctx
        self.state = state

    @property
    def shape(self) -> tuple[int, int]:
        return self.ctx.n_query, self.ctx.n_key

    def tile(self, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        n, m = self.shape
        if not (0 <= i0 <= i1 <= n and 0 <= j0 <= j1 <= m):
            raise InputError(f"tile rows {i0}:{i1}, cols {j0}:{j1} outside a {n} x {m} batch")
        return self.sampler.tile(self.ctx, self.state, i0, i1, j0, j1)

    def dense(self) -> PairTile:
        return self.tile(0, self.shape[0], 0, self.shape[1])


class Sampler(Configurable, ABC):
    """Base class. Subclasses implement :meth:`tile` (and optionally :meth:`prepare`,
    :meth:`label_kind`); see the module docstring.

    Class attributes:
        needs_labels: ``"discrete"``, ``"continuous"`` or ``None`` -- what every instance of the
            class needs (read it through :meth:`label_kind`).
        stochastic: ``True`` when binding draws randomness (e.g. sampled negatives) from
            torch's seeded generators; the contract suite checks seeds change the pairs then,
            and leave them unchanged otherwise.
    """

    needs_labels: ClassVar[str | None] = None
    stochastic: ClassVar[bool] = False
    registry_name: ClassVar[str] = ""

    def bind(
        self,
        query: Tensor,
        key: Tensor,
        *,
        query_ids: Tensor | None = None,
        key_ids: Tensor | None = None,
        self_index: Tensor | None = None,
        query_labels: Tensor | None = None,
        key_labels: Tensor | None = None,
    ) -> Pairs:
        """Validate one batch and return the :class:`Pairs` that answer tiles for it.

        Shapes:
            query: ``(N, D)``; key: ``(M, D)``; ids and labels: ``(N,)`` / ``(M,)``;
            self_index: ``(N,)`` with values in ``[-1, M)``.
        """
        check_embeddings("query", query)
        check_embeddings("key", key, min_rows=0)
        if query.shape[1] != key.shape[1]:
            raise InputError(
                f"query and key dimensions differ: {tuple(query.shape)} vs {tuple(key.shape)}"
            )
        n, m = int(query.shape[0]), int(key.shape[0])
        dev = query.device
        query_ids = self._index("query_ids", query_ids, n, dev, default=torch.arange(n, device=dev))
        key_ids = self._index("key_ids", key_ids, m, dev, default=torch.arange(m, device=dev))
        self_index = self._index(
            "self_index", self_index, n, dev, default=torch.full((n,), -1, device=dev)
        )
        if n and (self_index.min() < -1 or self_index.max() >= m):
            raise InputError(f"self_index values must lie in [-1, {m}), got {self_index.tolist()}")
        kind = self.label_kind()
        if kind is not None:
            if query_labels is None or key_labels is None:
                raise InputError(
                    f"sampler {type(self).__name__} needs query_labels and key_labels "
                    f"({kind} labels)"
                )
        continuous = kind == "continuous"
        if query_labels is not None:
            query_labels = check_labels("query_labels", query_labels, n, continuous=continuous)
        if key_labels is not None:
            key_labels = check_labels("key_labels", key_labels, m, continuous=continuous)
        ctx = PairContext(
            query=query.detach(),
            key=key.detach(),
            query_ids=query_ids,
            key_ids=key_ids,
            self_index=self_index,
            query_labels=None if query_labels is None else query_labels.to(dev),
            key_labels=None if key_labels is None else key_labels.to(dev),
        )
        return Pairs(self, ctx, self.prepare(ctx))

    @staticmethod
    def _index(name: str, value: Tensor | None, n: int, device: torch.device, *, default: Tensor) -> Tensor:
        if value is None:
            return default
        if not isinstance(value, Tensor) or value.dim() != 1 or value.shape[0] != n:
            shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise InputError(f"{name} must be a 1-D tensor of length {n}, got {shape}")
        if value.is_floating_point():
            raise InputError(f"{name} must hold integers, got {value.dtype}")
        return value.to(device=device, dtype=torch.long)

    def label_kind(self) -> str | None:
        """Which labels a batch bound to this sampler must carry: ``"discrete"``,
        ``"continuous"`` or ``None``. Default: the class attribute ``needs_labels``; override
        where the answer depends on the instance (never assign ``needs_labels`` per instance)."""
        return type(self).needs_labels

    def prepare(self, ctx: PairContext) -> Any:
        """Extension hook: per-batch precomputation, run once by :meth:`bind` (e.g. each query's
        top-k keys); the result is the ``state`` given to every :meth:`tile` call. Default:
        ``None``."""
        return None

    @abstractmethod
    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        """Extension hook: the masks of query rows ``i0:i1`` against key columns ``j0:j1``.

        Called through :meth:`Pairs.tile`, which has checked ``0 <= i0 <= i1 <= N`` and
        ``0 <= j0 <= j1 <= M``. Build the tile from per-row / per-column data of ``ctx`` (ids,
        labels) and ``state``, in memory proportional to the tile, never to the whole batch.

        Returns:
            A :class:`PairTile` with disjoint boolean ``positive`` / ``negative`` masks of shape
            ``(i1 - i0, j1 - j0)`` and an optional float ``weight`` of the same shape.
        """

    # -- contract ------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        """Small batches the contract suite binds this sampler to."""
