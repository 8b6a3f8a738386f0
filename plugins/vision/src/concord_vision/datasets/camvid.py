"""CamVid in mmseg's dataset conventions (SegNet's split and layout)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
from mmseg.datasets import BaseSegDataset

from concord.errors import ConfigError, DataError, DataNotFoundError

__all__ = ["CAMVID_CLASSES", "CamVidDataset"]

CAMVID_CLASSES = ("sky", "building", "pole", "road", "pavement", "tree", "sign_symbol", "fence",
                  "car", "pedestrian", "bicyclist")
_VOID = 11


class CamVidDataset(BaseSegDataset):
    """CamVid road scenes (Brostow et al. 2009) as SegNet ships them (Badrinarayanan et al. 2017,
    https://arxiv.org/abs/1511.00561): ``<root>/{train,val,test}/*.png`` images and
    ``<root>/{train,val,test}annot/*.png`` uint8 label maps with the 11 classes 0..10 and void 11.

    Void is mapped to mmseg's ``ignore_index`` 255 when the labels are loaded (through the
    dataset's ``label_map``), so losses and ``IoUMetric`` skip it. Any other value outside 0..10
    is an error naming the file -- not a silent ignore.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"`` (sets ``data_prefix``; default: ``"train"``).
        label_fraction: keep this fraction of the images, a subset fixed by ``subset_seed``
            (``round(fraction * n)`` images, at least 1; default: ``1.0``). For fine-tuning on
            10% of the labels.
        subset_seed: seed of that subset (default: ``0``).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``, ``pipeline``, ...).
    """

    METAINFO: ClassVar[dict] = dict(
        classes=CAMVID_CLASSES,
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128], [60, 40, 222],
                 [128, 128, 0], [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0],
                 [0, 128, 192]],
    )

    def __init__(
        self, split: str = "train", label_fraction: float = 1.0, subset_seed: int = 0, **kwargs: Any
    ) -> None:
        if split not in ("train", "val", "test"):
            raise ConfigError(f"split must be 'train', 'val' or 'test', got {split!r}")
        if not 0 < label_fraction <= 1:
            raise ConfigError(f"label_fraction must lie in (0, 1], got {label_fraction!r}")
        self.split, self.label_fraction, self.subset_seed = split, float(label_fraction), int(subset_seed)
        kwargs.setdefault("data_prefix", dict(img_path=split, seg_map_path=f"{split}annot"))
        kwargs.setdefault("img_suffix", ".png")
        kwargs.setdefault("seg_map_suffix", ".png")
        root = kwargs.get("data_root") or ""
        for folder in kwargs["data_prefix"].values():
            if not os.path.isdir(os.path.join(root, folder)):
                raise DataNotFoundError(
                    f"CamVid folder {os.path.join(root, folder)!r} does not exist (expected "
                    f"<data_root>/{split} and <data_root>/{split}annot; set data_root, or "
                    "--set data.root=DIR for DIR/camvid)")
        super().__init__(**kwargs)

    @classmethod
    def get_label_map(cls, new_classes=None) -> dict[int, int]:
        """mmseg's class-subset map, plus void (11) -> 255."""
        base = super().get_label_map(new_classes)
        label_map = dict(base) if base is not None else {i: i for i in range(len(CAMVID_CLASSES))}
        label_map[_VOID] = 255
        return label_map

    def load_data_list(self) -> list[dict]:
        data_list = super().load_data_list()
        if not data_list:
            raise DataNotFoundError(f"no CamVid images in {self.data_prefix.get('img_path')!r} "
                             f"(expected <data_root>/{self.split}/*.png)")
        if self.label_fraction < 1:
            n = len(data_list)
            k = max(1, round(self.label_fraction * n))
            keep = np.sort(np.random.default_rng(self.subset_seed).choice(n, size=k, replace=False))
            data_list = [data_list[i] for i in keep]
        return data_list

    def prepare_data(self, idx: int) -> Any:
        data = super().prepare_data(idx)
        sample = data.get("data_samples") if isinstance(data, dict) else None
        seg = getattr(sample, "gt_sem_seg", None)
        if seg is not None:
            values = np.unique(seg.data.numpy())
            num_classes = len(self.metainfo["classes"])
            bad = [int(v) for v in values if not (0 <= v < num_classes or v == self.ignore_index)]
            if bad:
                raise DataError(
                    f"{self.get_data_info(idx)['seg_map_path']}: label values {bad} outside the "
                    f"classes 0..{num_classes - 1} and void {_VOID}"
                )
        return data
