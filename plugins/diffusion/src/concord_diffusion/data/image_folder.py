"""Images from a folder of image files (optionally one subfolder per class)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from concord.errors import DataError
from concord_diffusion.data.image_set import ImageSet

__all__ = ["IMAGE_SUFFIXES", "read_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4}


def read_image_folder(root: str | Path) -> ImageSet:
    """Every image file under ``root`` (sorted paths, recursively), as uint8 ``(N, C, H, W)``.

    Labels: when every image sits in a direct subfolder of ``root`` (``root/<class>/...``), the
    sorted subfolder names are the classes 0, 1, ...; otherwise there are none.

    Refused with a one-line error naming two files: images of different sizes, or of different
    channel counts (grey ``L`` = 1, ``RGB`` = 3, ``RGBA`` = 4; palette images count as what they
    expand to). Nothing is resized or converted between channel counts.
    """
    from PIL import Image

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"image folder {str(root)!r} does not exist")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) under {str(root)!r}")
    arrays, first = [], None
    for path in files:
        with Image.open(path) as im:
            if im.mode == "P":
                im = im.convert("RGBA" if "transparency" in im.info else "RGB")
            elif im.mode in ("1", "I;16", "I", "F"):
                im = im.convert("L")
            elif im.mode not in _CHANNELS:
                im = im.convert("RGB")
            a = np.asarray(im, dtype=np.uint8)
        a = a[:, :, None] if a.ndim == 2 else a
        if first is None:
            first = (path, a.shape)
        elif a.shape[:2] != first[1][:2]:
            raise DataError(f"images of mixed sizes: {first[0]} is {first[1][1]}x{first[1][0]}, "
                             f"{path} is {a.shape[1]}x{a.shape[0]} (resize them first)")
        elif a.shape[2] != first[1][2]:
            raise DataError(f"images with different channel counts: {first[0]} has {first[1][2]}, "
                             f"{path} has {a.shape[2]}")
        arrays.append(a)
    images = torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy())
    parents = {p.parent for p in files}
    labels = None
    if all(p.parent.parent == root for p in files) and len(parents) > 1:
        classes = sorted(p.name for p in parents)
        index = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([index[p.parent.name] for p in files], dtype=torch.int64)
    return ImageSet(images, labels, str(root))
