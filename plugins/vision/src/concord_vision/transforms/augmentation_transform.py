"""An mmcv transform that runs one concord augmentation with its own explicit generator."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import torch
from mmcv.transforms import BaseTransform

from concord import distributed
from concord.augment.base import Augmentation
from concord.errors import ConfigError

__all__ = ["AugmentationTransform"]


class AugmentationTransform(BaseTransform):
    """Adapter: ``results -> augmentation(results, generator=g)`` inside an mmcv pipeline.

    Subclasses set :attr:`augmentation` (a concord :class:`~concord.augment.base.Augmentation`
    class); every other constructor argument is that augmentation's configuration, so
    ``dict(type='ConcordTwoViews', view_1=[...], view_2=[...], seed=0)`` builds
    ``TwoViews(view_1=..., view_2=...)``. The results dict is never modified in place.

    Randomness: one ``torch.Generator`` per transform object, seeded on first use from
    ``(seed, transform name, stream)``, where the stream is the data-loader worker's torch seed
    inside a worker (torch gives each worker of each epoch its own, drawn from the main process's
    seeded generator) and the process rank otherwise. A run is therefore reproducible from its
    seed for a given world size and worker count, and workers never repeat each other's draws.

    Args:
        seed: the explicit seed (default: ``0``).
        **options: the augmentation's keyword arguments.
    """

    augmentation: ClassVar[type[Augmentation]]

    def __init__(self, seed: int = 0, **options: Any) -> None:
        super().__init__()
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        self.seed = seed
        self.aug = self.augmentation(**options)
        self._generator: torch.Generator | None = None
        self._stream: int | None = None

    def _stream_id(self) -> int:
        info = torch.utils.data.get_worker_info()
        return int(info.seed) if info is not None else distributed.rank()

    def generator(self) -> torch.Generator:
        stream = self._stream_id()
        if self._generator is None or stream != self._stream:
            text = f"{self.seed}/{type(self).__name__}/{stream}".encode()
            g = torch.Generator()
            g.manual_seed(int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1)
            self._generator, self._stream = g, stream
        return self._generator

    def transform(self, results: dict) -> dict:
        return self.aug(results, generator=self.generator())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed}, {self.aug.extra_repr()})"
