"""Shared test data of the vision plugin, all generated here (the tests never read ../shared)."""

from __future__ import annotations

import pytest


# View 1: box (0, 0, 120, 90): centres x in {20, 60, 100}, y in {15, 45, 75}, diagonal 50.
# View 2: box (40, 30, 160, 120): centres x in {60, 100, 140}, y in {45, 75, 105}, diagonal 50.
# Threshold 0.7 * 50 = 35 px. x-offsets are multiples of 40 (> 35) and y-offsets multiples of 30,
# so a pair is positive exactly when x agrees and |dy| <= 30. Worked out by hand:
HAND_BOXES = ((0.0, 0.0, 120.0, 90.0), (40.0, 30.0, 160.0, 120.0))
HAND_PAIRS = frozenset({(1, 0), (4, 0), (4, 3), (7, 0), (7, 3), (7, 6),
                        (2, 1), (5, 1), (5, 4), (8, 1), (8, 4), (8, 7)})
# With view 2 flipped, key column c shows the x of column 2 - c: keys 0/3/6 <-> 2/5/8.
HAND_PAIRS_FLIPPED = frozenset({(1, 2), (4, 2), (4, 5), (7, 2), (7, 5), (7, 8),
                                (2, 1), (5, 1), (5, 4), (8, 1), (8, 4), (8, 7)})


@pytest.fixture
def hand_pairs() -> dict:
    """The hand-made boxes of two 3 x 3 views and their positive pairs (query, key)."""
    return {"boxes": HAND_BOXES, "pairs": HAND_PAIRS, "pairs_flipped": HAND_PAIRS_FLIPPED}
