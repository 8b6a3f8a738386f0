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


def write_camvid(root, *, sizes=None, hw=(72, 96), seed=0, bad_label=None):
    """A CamVid-layout folder of generated scenes: ``<root>/{split}/*.png`` and
    ``<root>/{split}annot/*.png``. Each image has a sky band (class 0), a road band (3) and a
    "car" block (8) drawn in their palette colours plus noise, and a void border (11)."""
    import cv2
    import numpy as np

    sizes = sizes or {"train": 8, "val": 3, "test": 3}
    palette = {0: (128, 128, 128), 3: (128, 64, 128), 8: (64, 0, 128), 11: (0, 0, 0)}
    rng = np.random.default_rng(seed)
    h, w = hw
    for split, n in sizes.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / f"{split}annot").mkdir(parents=True, exist_ok=True)
        for i in range(n):
            label = np.full((h, w), 0, dtype=np.uint8)
            cut = int(rng.integers(h // 3, 2 * h // 3))
            label[cut:] = 3
            y, x = int(rng.integers(0, h - 16)), int(rng.integers(0, w - 20))
            label[y:y + 16, x:x + 20] = 8
            label[:, :2] = 11
            if bad_label is not None and split == "train" and i == 0:
                label[0, 5] = bad_label
            rgb = np.stack([np.array(palette.get(int(v), (0, 0, 0))) for v in range(256)])[label]
            img = np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / split / f"{split}_{i:03d}.png"), img[..., ::-1])
            cv2.imwrite(str(root / f"{split}annot" / f"{split}_{i:03d}.png"), label)
    return root


@pytest.fixture
def camvid(tmp_path):
    """A small generated CamVid folder (8 / 3 / 3 images of 96 x 72)."""
    return write_camvid(tmp_path / "camvid")


@pytest.fixture
def make_camvid(tmp_path):
    """``make_camvid(name, **options)``: a generated CamVid folder under ``tmp_path``."""
    return lambda name, **kw: write_camvid(tmp_path / name, **kw)
