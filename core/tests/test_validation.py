"""The argument checks every component uses: the intervals they accept, at their edges."""

from __future__ import annotations

import math
import re

import pytest

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
