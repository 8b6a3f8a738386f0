"""Data readers: idx bytes written by hand, generated .npy arrays and PNG folders."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from concord_diffusion.data import (
    ImageSet,
    array_to_images,
    load_split,
    read_idx,
    read_image_folder,
    to_model_range,
    write_idx,
)


def test_idx_header_written_by_hand(tmp_path):
    """The bytes of the format spec, assembled here: magic 0x00000803, sizes 2, 2, 3 (big endian)."""
    data = bytes(range(12))
    raw = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + data
    path = tmp_path / "x-idx3-ubyte.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(raw)
    a = read_idx(path)
    assert a.shape == (2, 2, 3) and a.dtype == np.uint8
    assert a[1, 0, 2] == 8
    back = write_idx(a, tmp_path / "y.gz")
    assert gzip.open(back).read() == raw


def test_idx_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match="3 data bytes"):
        read_idx(short)


def test_fashion_mnist_layout(tmp_path, digits):
    x, y = digits(50)
    write_idx(x[:, 0].numpy(), tmp_path / "train-images-idx3-ubyte.gz")
    write_idx(y.numpy().astype(np.uint8), tmp_path / "train-labels-idx1-ubyte.gz")
    write_idx(x[:10, 0].numpy(), tmp_path / "t10k-images-idx3-ubyte.gz")
    train = load_split(tmp_path, "train")
    assert torch.equal(train.images, x) and torch.equal(train.labels, y)
    test = load_split(tmp_path, "test")
    assert len(test) == 10 and test.labels is None


def test_npy_layouts(tmp_path):
    g = np.random.default_rng(0)
    hwc = g.integers(0, 256, (4, 5, 6, 3), dtype=np.uint8)
    assert torch.equal(array_to_images(hwc), torch.from_numpy(hwc.transpose(0, 3, 1, 2)))
    assert array_to_images(g.random((4, 6, 6))).shape == (4, 1, 6, 6)
    with pytest.raises(ValueError, match="could be NCHW or NHWC"):
        array_to_images(np.zeros((2, 3, 5, 3), np.uint8))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        array_to_images(np.full((2, 4, 4), 2.0))
    np.save(tmp_path / "train_images.npy", hwc)
    np.save(tmp_path / "train_labels.npy", np.arange(4))
    s = load_split(tmp_path, "train")
    assert s.channels == 3 and s.labels.tolist() == [0, 1, 2, 3]
    assert load_split(tmp_path, "test") is None


def test_image_folder_with_classes_and_errors(tmp_path):
    from PIL import Image

    for cls, value in (("a", 10), ("b", 200)):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(np.full((6, 5), value + i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    s = read_image_folder(tmp_path)
    assert s.images.shape == (4, 1, 6, 5) and s.labels.tolist() == [0, 0, 1, 1]
    assert int(s.images[3, 0, 0, 0]) == 201
    Image.fromarray(np.zeros((7, 5), np.uint8)).save(tmp_path / "b" / "odd.png")
    with pytest.raises(ValueError, match=r"mixed sizes.*odd.png is 5x7"):
        read_image_folder(tmp_path)
    (tmp_path / "b" / "odd.png").unlink()
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(tmp_path / "b" / "rgb.png")
    with pytest.raises(ValueError, match="different channel counts"):
        read_image_folder(tmp_path)


def test_padding_and_model_range():
    s = ImageSet(torch.full((2, 1, 28, 28), 255, dtype=torch.uint8), None, "t")
    p = s.padded(32)
    assert p.size == (32, 32) and int(p.images[0, 0, 1, 1]) == 0 and int(p.images[0, 0, 2, 2]) == 255
    assert float(to_model_range(p.images).min()) == -1.0 and float(to_model_range(p.images).max()) == 1.0
    with pytest.raises(ValueError, match="do not fit"):
        s.padded(16)
