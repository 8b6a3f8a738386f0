"""Pixel geometry and pixel pairs on hand-made boxes whose centres and pairs are worked out by
hand (Xie et al. 2021, Sec. 3.1)."""

from __future__ import annotations

import math

import pytest
import torch

from concord_vision.geometry import bin_centres, bin_coordinates, bin_diagonals
from concord_vision.pairs import PixelPairsSampler

F = torch.tensor([False])
T = torch.tensor([True])


def test_bin_centres_of_a_hand_made_box_row_major_and_flipped():
    box = torch.tensor([[0.0, 0.0, 120.0, 90.0]])  # 3 x 3 bins of 40 x 30 px
    plain = bin_centres(box, F, (3, 3))[0].tolist()
    # row 0: x = 20, 60, 100 at y = 15; row 1 starts at (20, 45)  (catches a row/column swap,
    # a missing half-bin offset, normalised coordinates)
    assert plain[:4] == [[20.0, 15.0], [60.0, 15.0], [100.0, 15.0], [20.0, 45.0]]
    assert plain[8] == [100.0, 75.0]
    flipped = bin_centres(box, T, (3, 3))[0].tolist()
    # a flipped view shows the right edge in column 0 (catches a flip that is ignored)
    assert flipped[:3] == [[100.0, 15.0], [60.0, 15.0], [20.0, 15.0]]
    assert bin_diagonals(box, (3, 3)).tolist() == [50.0]  # hypot(40, 30)


def test_bin_centres_of_a_non_square_offset_box():
    box = torch.tensor([[30.0, 10.0, 90.0, 50.0]])  # 2 rows x 3 cols: bins 20 x 20
    c = bin_centres(box, F, (2, 3))[0].tolist()
    assert c == [[40.0, 20.0], [60.0, 20.0], [80.0, 20.0], [40.0, 40.0], [60.0, 40.0], [80.0, 40.0]]
    assert math.isclose(float(bin_diagonals(box, (2, 3))), math.hypot(20, 20))


def _pairs(c1, c2, threshold=0.7):
    z1, z2 = torch.randn(c1.shape[0], 2), torch.randn(c2.shape[0], 2)
    t = PixelPairsSampler(threshold=threshold).bind(z1, z2, query_labels=c1, key_labels=c2).dense()
    return {(i, j) for i, j in torch.nonzero(t.positive).tolist()}, t


def test_pixel_pairs_of_hand_made_boxes(hand_pairs):
    b1, b2 = (torch.tensor([box]) for box in hand_pairs["boxes"])
    ids = torch.tensor([0])
    c1 = bin_coordinates(b1, F, (3, 3), ids)
    pos, t = _pairs(c1, bin_coordinates(b2, F, (3, 3), ids))
    assert pos == hand_pairs["pairs"]
    assert torch.equal(t.negative, ~t.positive)  # every other pixel is a negative
    pos, _ = _pairs(c1, bin_coordinates(b2, T, (3, 3), ids))
    assert pos == hand_pairs["pairs_flipped"]  # catches flips ignored by the pairing


def test_the_larger_bin_diagonal_normalises_and_images_never_pair():
    # query view: diagonal 50 (threshold 35 px); key view: whole 240 x 180 image in 3 x 3 bins of
    # 80 x 60, diagonal 100 (threshold 70 px with the larger diagonal, as the authors'
    # max_bin_diag). Query 2 at (100, 15) and key 0 at (40, 30) are 61.8 px apart: positive with
    # the larger diagonal, negative with the smaller or the query's own.
    b1, b2 = torch.tensor([[0.0, 0.0, 120.0, 90.0]]), torch.tensor([[0.0, 0.0, 240.0, 180.0]])
    c1 = bin_coordinates(b1, F, (3, 3), torch.tensor([0]))
    c2 = bin_coordinates(b2, F, (3, 3), torch.tensor([0]))
    pos, _ = _pairs(c1, c2)
    assert (2, 0) in pos
    assert (0, 0) in pos and (4, 0) in pos and (8, 4) in pos  # 25 px apart
    assert (8, 0) not in pos  # 75 px apart
    # the full mask against the rule written out over hand-listed centres
    q = [(x, y) for y in (15, 45, 75) for x in (20, 60, 100)]
    k = [(x, y) for y in (30, 90, 150) for x in (40, 120, 200)]
    brute = {(i, j) for i, a in enumerate(q) for j, b in enumerate(k)
             if math.hypot(a[0] - b[0], a[1] - b[1]) / max(50.0, 100.0) < 0.7}
    assert pos == brute
    # the same boxes under another image id: nothing pairs across images
    c2_other = bin_coordinates(b2, F, (3, 3), torch.tensor([1]))
    pos_other, _ = _pairs(c1, c2_other)
    assert pos_other == set()


def test_threshold_is_strict():
    # two bins exactly 0.6 * diagonal apart: positive at T = 0.7, negative at T = 0.6 (Eq. 1: <)
    b1, b2 = torch.tensor([[0.0, 0.0, 40.0, 30.0]]), torch.tensor([[0.0, 30.0, 40.0, 60.0]])
    ids = torch.tensor([0])
    c1, c2 = bin_coordinates(b1, F, (1, 1), ids), bin_coordinates(b2, F, (1, 1), ids)
    assert _pairs(c1, c2, 0.7)[0] == {(0, 0)}
    assert _pairs(c1, c2, 0.6)[0] == set()


def test_bad_geometry_is_refused():
    with pytest.raises(ValueError, match="x1 > x0"):
        bin_centres(torch.tensor([[10.0, 0.0, 5.0, 8.0]]), F, (2, 2))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        bin_centres(torch.zeros(2, 3), torch.zeros(2), (2, 2))
