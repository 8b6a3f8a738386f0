"""Reading the data set a run names: idx (Fashion-MNIST / MNIST), ``.npy`` arrays, image folders."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from concord.errors import DataError
from concord_diffusion.data.idx import read_idx
from concord_diffusion.data.image_folder import read_image_folder
from concord_diffusion.data.image_set import ImageSet
from concord_diffusion.data.npy_images import array_to_images, read_npy

__all__ = ["FORMATS", "detect_format", "load_split"]

FORMATS = ("auto", "idx", "npy", "folder")
_IDX_PREFIX = {"train": "train", "test": "t10k"}


def _idx_file(root: Path, split: str, kind: str) -> Path | None:
    stem = f"{_IDX_PREFIX[split]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
    for name in (stem + ".gz", stem):
        if (root / name).is_file():
            return root / name
    return None


def detect_format(root: str | Path) -> str:
    """``idx`` when ``root`` holds ``train-images-idx3-ubyte[.gz]``, ``npy`` for an ``.npy`` file or
    a folder with ``train_images.npy``, ``folder`` for any other folder."""
    root = Path(root)
    if root.suffix == ".npy" or (root / "train_images.npy").is_file():
        return "npy"
    if not root.exists():
        raise DataError(f"data.root {str(root)!r} does not exist")
    if _idx_file(root, "train", "images") is not None:
        return "idx"
    return "folder"


def load_split(root: str | Path, split: Literal["train", "test"], *, format: str = "auto",
               layout: Literal["auto", "nchw", "nhwc"] = "auto") -> ImageSet | None:
    """The ``train`` or ``test`` part of the data set at ``root``; ``None`` when the data set has no
    such part (only ``train`` is required).

    Layouts: ``idx``: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``root``; ``npy``:
    ``root`` itself (one ``.npy`` of training images) or ``{train,test}_images.npy`` with optional
    ``{train,test}_labels.npy`` in ``root``; ``folder``: ``root/train`` and ``root/test`` when both
    exist, else the whole of ``root`` is the training part.
    """
    root = Path(root)
    if format not in FORMATS:
        raise DataError(f"data.format must be one of {list(FORMATS)}, got {format!r}")
    fmt = detect_format(root) if format == "auto" else format
    if fmt == "idx":
        images = _idx_file(root, split, "images")
        if images is None:
            if split == "train":
                raise DataError(f"no train-images-idx3-ubyte[.gz] in {str(root)!r}")
            return None
        labels = _idx_file(root, split, "labels")
        x = array_to_images(read_idx(images), source=str(images))
        y = torch.from_numpy(read_idx(labels).astype("int64")) if labels is not None else None
        return ImageSet(x, y, str(images))
    if fmt == "npy":
        if root.suffix == ".npy":
            return read_npy(root, layout=layout) if split == "train" else None
        images = root / f"{split}_images.npy"
        if not images.is_file():
            if split == "train":
                raise DataError(f"no train_images.npy in {str(root)!r}")
            return None
        labels = root / f"{split}_labels.npy"
        return read_npy(images, labels if labels.is_file() else None, layout=layout)
    if (root / "train").is_dir() and (root / "test").is_dir():
        return read_image_folder(root / split)
    return read_image_folder(root) if split == "train" else None
