"""Does code allocate where its inputs live? A check that needs no second device.

:func:`check_follows_inputs` calls ``fn()`` (which computes from inputs built on the CPU) twice:
plainly, and with ``meta`` as the default device (``with torch.device("meta")``), which sends
every factory call that names no device -- ``torch.zeros(n)``, ``torch.arange(n)``,
``torch.as_tensor(array)``, ``torch.randperm(n, generator=g)``, ``torch.sparse_coo_tensor(...)``
-- to ``meta``. Code that follows its inputs (``device=x.device``), or draws on the CPU generator
(``device="cpu"``) and moves the draw, returns exactly the same values on the same devices both
times. Code that allocates on "the default device" mixes meta and CPU tensors and then fails,
returns meta tensors, or returns garbage: what it would do next to CUDA inputs. Modules and
inputs must be built outside ``fn`` (a module built inside it would live on ``meta``).

    from concord.testing.devices import check_follows_inputs
    check_follows_inputs(lambda: my_aug(batch, generator=torch.Generator().manual_seed(0)))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["check_augmentation_follows_inputs", "check_follows_inputs"]


def check_follows_inputs(fn: Callable[[], Any], where: str = "result") -> None:
    """``fn()`` under a ``meta`` default device returns what it returns without one: the same
    structure, every tensor on the same device with the same dtype and exactly the same values."""
    want = fn()
    with torch.device("meta"):
        got = fn()
    _assert_follows(got, want, where)


def check_augmentation_follows_inputs(cls: type) -> None:
    """:func:`check_follows_inputs` on every example an augmentation declares (``examples()``),
    each drawn from a CPU generator seeded the same both times."""
    for i, example in enumerate(cls.examples(torch.Generator().manual_seed(0))):
        aug = cls(**example.init)
        check_follows_inputs(lambda aug=aug, x=example.input: aug(x, generator=torch.Generator().manual_seed(3)),
                             f"{cls.__name__} example {i}")


def _assert_follows(got: Any, want: Any, where: str) -> None:
    if isinstance(want, Tensor):
        assert isinstance(got, Tensor), f"{where}: {type(got).__name__} instead of a tensor"
        assert got.device == want.device, f"{where}: on {got.device}, the inputs are on {want.device}"
        a, b = got.detach(), want.detach()
        if b.layout != torch.strided:
            a, b = a.to_dense(), b.to_dense()
        assert a.shape == b.shape and a.dtype == b.dtype, f"{where}: {a.dtype}{tuple(a.shape)} != {b.dtype}{tuple(b.shape)}"
        assert torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)), (
            f"{where}: values differ"
        )
    elif dataclasses.is_dataclass(want) and not isinstance(want, type):
        for f in dataclasses.fields(want):
            _assert_follows(getattr(got, f.name), getattr(want, f.name), f"{where}.{f.name}")
    elif hasattr(want, "to_dict") and callable(want.to_dict) and not isinstance(want, Mapping):
        _assert_follows(got.to_dict(), want.to_dict(), where)  # PyG Data / HeteroData and the like
    elif isinstance(want, Mapping):
        assert isinstance(got, Mapping) and set(got) == set(want), f"{where}: keys differ"
        for key in want:
            _assert_follows(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{where}: lengths differ"
        for i, (a, b) in enumerate(zip(got, want)):
            _assert_follows(a, b, f"{where}[{i}]")
    elif type(want).__module__ == "numpy":
        import numpy as np

        assert np.array_equal(got, want), f"{where}: arrays differ"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"
