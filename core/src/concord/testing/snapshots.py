"""Structural snapshots and equality of component inputs and outputs (tensors, mappings,
sequences, framework objects with ``to_dict()``), used by the contract suites to see that an
input was not mutated and that two outputs are, or are not, the same."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

__all__ = ["assert_same", "differs", "snapshot"]


def snapshot(obj: Any) -> Any:
    """A deep, comparable copy of tensors, mappings, sequences and framework objects with
    ``to_dict()`` (PyG ``Data`` / ``HeteroData``)."""
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if hasattr(obj, "to_dict") and callable(obj.to_dict) and not isinstance(obj, Mapping):
        try:
            return (type(obj).__name__, snapshot(obj.to_dict()))
        except TypeError:
            pass
    if isinstance(obj, Mapping):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(snapshot(v) for v in obj)
    return copy.deepcopy(obj)


def assert_same(a: Any, b: Any, where: str = "value") -> None:
    """Structural equality of two :func:`snapshot` results (tensors: same shape, dtype, values;
    NaN equals NaN)."""
    _assert_same(snapshot(a), snapshot(b), where)


def differs(a: Any, b: Any) -> bool:
    """True when :func:`assert_same` would fail."""
    try:
        assert_same(a, b)
    except AssertionError:
        return True
    return False


def _assert_same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        assert isinstance(a, Tensor) and isinstance(b, Tensor), f"{where}: tensor vs non-tensor"
        assert a.shape == b.shape, f"{where}: shape {tuple(a.shape)} != {tuple(b.shape)}"
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} != {b.dtype}"
        assert torch.equal(a, b) or (
            a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)
        ), f"{where}: values differ"
        return
    if isinstance(a, Mapping):
        assert isinstance(b, Mapping), f"{where}: mapping vs {type(b).__name__}"
        assert set(a) == set(b), f"{where}: keys {sorted(map(str, a))} != {sorted(map(str, b))}"
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
        return
    try:
        import numpy as np

        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            assert np.array_equal(a, b), f"{where}: arrays differ"
            return
    except ImportError:  # pragma: no cover
        pass
    assert a == b, f"{where}: {a!r} != {b!r}"
