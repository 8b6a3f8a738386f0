"""The argument checks every component uses: the intervals they accept, at their edges."""

from __future__ import annotations

import math
import re

import pytest
import torch

from concord.errors import InputError
from concord.validation import check_probability


@pytest.mark.parametrize(
    ("kwargs", "interval", "inside", "outside"),
    [
        ({}, "[0, 1)", [0, 0.5, 1 - 1e-12], [1, -1e-12]),
        ({"upper_inclusive": True}, "[0, 1]", [0, 1], [1 + 1e-12, -1e-12]),
        ({"upper_inclusive": True, "lower_inclusive": False}, "(0, 1]", [1e-12, 1], [0, 1.5]),
        ({"lower_inclusive": False}, "(0, 1)", [0.5], [0, 1]),
    ],
)
def test_check_probability_edges(kwargs, interval, inside, outside):
    for v in inside:
        assert check_probability("p", v, **kwargs) == v
    for v in [*outside, math.nan, math.inf]:
        with pytest.raises(InputError, match="p must lie in " + re.escape(interval)):
            check_probability("p", v, **kwargs)


def test_check_probability_refuses_non_numbers():
    for v in (True, "0.5", None):
        with pytest.raises(InputError, match="p must be a number"):
            check_probability("p", v)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_check_finite_decides_entry_by_entry(dtype):
    """The one-pass check (a finite sum proves every entry finite) against the entry-wise
    definition: finite entries whose sum overflows pass; one NaN, one inf, or an inf and a -inf
    (whose sum is NaN) anywhere fail with their counts."""
    from concord.validation import check_finite

    big = torch.finfo(dtype).max
    overflow = torch.tensor([[big, big], [big, -1.0]], dtype=dtype)
    assert not torch.isfinite(overflow.sum()) and check_finite("x", overflow) is overflow
    assert check_finite("x", torch.zeros(0, 3, dtype=dtype)).numel() == 0
    for bad, counts in [(float("nan"), "1 NaN, 0 inf"), (float("inf"), "0 NaN, 1 inf")]:
        x = torch.randn(7, 5, dtype=torch.float64).to(dtype)
        x[3, 2] = bad
        with pytest.raises(InputError, match=counts):
            check_finite("x", x)
    x = torch.ones(4, 4, dtype=dtype)
    x[0, 0], x[2, 1] = float("inf"), float("-inf")
    with pytest.raises(InputError, match="0 NaN, 2 inf"):
        check_finite("x", x)
