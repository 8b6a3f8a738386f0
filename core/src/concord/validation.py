"""Input and argument checks shared by every component: each failure is a ``ValueError`` naming it.

concord never fixes bad input silently (no NaN-to-zero, no reshaping a wrong batch): a component
calls these at its boundary and the user reads which argument is wrong and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = [
    "check_choice",
    "check_embeddings",
    "check_finite",
    "check_labels",
    "check_positive",
    "check_probability",
    "check_same_rows",
]


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """A finite number > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    bad = value < 0 if allow_zero else value <= 0
    if bad or not math.isfinite(value):
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be finite and {bound}, got {value!r}")
    return float(value)


def check_probability(
    name: str, value: float, *, upper_inclusive: bool = False, lower_inclusive: bool = True
) -> float:
    """A number in [0, 1) by default; ``upper_inclusive`` admits 1, ``lower_inclusive=False``
    refuses 0 (e.g. a crop ratio in (0, 1]). NaN and infinities are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    low = 0 <= value if lower_inclusive else 0 < value
    high = value <= 1 if upper_inclusive else value < 1
    if not (low and high):
        interval = f"{'[' if lower_inclusive else '('}0, 1{']' if upper_inclusive else ')'}"
        raise InputError(f"{name} must lie in {interval}, got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise InputError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_finite(name: str, x: Tensor) -> Tensor:
    """Raise if ``x`` holds NaN or infinity (the check runs without building a graph).

    One pass over ``x`` in the common case: a NaN or an infinity anywhere makes the sum
    non-finite (IEEE: ``inf + finite = inf``, ``inf - inf = NaN``, NaN propagates), so a finite
    sum proves every entry finite; only a non-finite sum (a bad entry, or finite entries whose
    sum overflows) runs the entry-wise check, which decides.
    """
    if x.is_floating_point() or x.is_complex():
        with torch.no_grad():
            if x.numel() and bool(torch.isfinite(x.sum())):
                return x
            finite = torch.isfinite(x).all()
        if not bool(finite):
            n_nan = int(torch.isnan(x.detach()).sum())
            n_inf = int(torch.isinf(x.detach()).sum())
            raise InputError(
                f"{name} contains non-finite values ({n_nan} NaN, {n_inf} inf) in a tensor of "
                f"shape {tuple(x.shape)}"
            )
    return x


def check_embeddings(
    name: str, x: Any, *, ndim: int | tuple[int, ...] = 2, min_rows: int = 1
) -> Tensor:
    """A finite floating-point tensor of the given rank(s) with at least ``min_rows`` rows."""
    if not isinstance(x, Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if x.dim() not in dims:
        want = " or ".join(f"{d}-D" for d in dims)
        raise InputError(f"{name} must be {want}, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.shape[0] < min_rows:
        raise InputError(f"{name} needs at least {min_rows} row(s), got shape {tuple(x.shape)}")
    if x.dim() >= 2 and x.shape[-1] == 0:
        raise InputError(f"{name} has zero feature dimensions (shape {tuple(x.shape)})")
    return check_finite(name, x)


def check_same_rows(**tensors: Tensor) -> int:
    """All tensors have the same number of rows (dim 0); returns it."""
    sizes = {k: int(v.shape[0]) for k, v in tensors.items()}
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in sizes.items())
        raise InputError(f"batch sizes differ: {desc} rows")
    return next(iter(sizes.values()))


def check_labels(
    name: str, labels: Any, n: int, *, continuous: bool = False, width: int | None = None
) -> Tensor:
    """Labels of ``n`` rows: integers (discrete) or finite floats (continuous).

    ``width=None`` asks for 1-D labels ``(n,)``; ``width=K`` for one vector of ``K`` values per
    row, ``(n, K)`` (e.g. pixel coordinates for a dense sampler).
    """
    if not isinstance(labels, Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(labels).__name__}")
    if width is None and labels.dim() != 1:
        raise InputError(f"{name} must be 1-D, got shape {tuple(labels.shape)}")
    if width is not None and (labels.dim() != 2 or labels.shape[1] != width):
        raise InputError(f"{name} must have shape (rows, {width}), got {tuple(labels.shape)}")
    if labels.shape[0] != n:
        raise InputError(f"{name} has {labels.shape[0]} entries but the batch has {n} rows")
    if continuous:
        if not labels.is_floating_point():
            labels = labels.to(torch.float32)
        check_finite(name, labels)
    elif labels.is_floating_point() or labels.dtype == torch.bool:
        raise InputError(f"{name} must be an integer tensor (discrete labels), got {labels.dtype}")
    return labels
