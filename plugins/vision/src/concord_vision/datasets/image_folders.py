"""Unlabelled images from one or more folders, for self-supervised pretraining."""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

from mmengine.dataset import BaseDataset
from mmengine.fileio import list_dir_or_file

from concord.errors import ConfigError, DataNotFoundError

__all__ = ["ImageFolders"]

_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class ImageFolders(BaseDataset):
    """Every image in ``<data_root>/<folder>`` for each folder (e.g. CamVid's ``train`` and
    ``val``: pretraining uses their images without labels), sorted by path. Each item is
    ``{'img_path': ...}`` for mmcv's ``LoadImageFromFile``.

    Args:
        folders: sub-folders of ``data_root`` (default: ``("train", "val")``).
        suffixes: image file endings (default: png, jpg, jpeg, bmp).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``data_root``, ``pipeline``).
    """

    def __init__(self, folders: Sequence[str] = ("train", "val"),
                 suffixes: Sequence[str] = _SUFFIXES, **kwargs) -> None:
        if isinstance(folders, str) or not folders:
            raise ConfigError(f"folders must be a non-empty list of folder names, got {folders!r}")
        self.folders, self.suffixes = tuple(folders), tuple(suffixes)
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        items = []
        for folder in self.folders:
            path = osp.join(self.data_root or "", folder)
            if not osp.isdir(path):
                raise DataNotFoundError(f"image folder {path!r} does not exist")
            for name in list_dir_or_file(path, list_dir=False, suffix=self.suffixes, recursive=True):
                items.append({"img_path": osp.join(path, name)})
        if not items:
            raise DataNotFoundError(f"no images ({', '.join(self.suffixes)}) under {self.data_root!r} "
                             f"in {list(self.folders)}")
        return sorted(items, key=lambda d: d["img_path"])
