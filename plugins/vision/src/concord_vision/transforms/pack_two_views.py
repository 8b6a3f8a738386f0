"""Pack the two views of ``vision.two_views`` for a dense pretraining model."""

from __future__ import annotations

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from concord.errors import ConfigError

__all__ = ["PackTwoViews"]


class PackTwoViews(BaseTransform):
    """``results['views']`` -> ``{'inputs': (2, 3, H, W) uint8, 'data_samples': element}``.

    The data sample holds ``crop_boxes`` ``(2, 4)`` float64 (``(x0, y0, x1, y1)`` in pixels of the
    original image) and ``flips`` ``(2,)`` bool, plus ``img_path`` and ``ori_shape`` as metainfo:
    everything :func:`concord_vision.geometry.bin_coordinates` needs.
    """

    def transform(self, results: dict) -> dict:
        views = results.get("views")
        if not isinstance(views, (list, tuple)) or len(views) != 2:
            raise ConfigError("PackTwoViews needs results['views'] with two views "
                             "(put ConcordTwoViews before it in the pipeline)")
        imgs = []
        for v in views:
            if "crop_box" not in v:
                raise ConfigError("a view has no crop_box; its steps must start with "
                                 "vision.random_resized_crop")
            imgs.append(torch.from_numpy(np.ascontiguousarray(v["img"].transpose(2, 0, 1))))
        if imgs[0].shape != imgs[1].shape:
            raise ConfigError(f"the two views differ in size: {tuple(imgs[0].shape)} vs "
                             f"{tuple(imgs[1].shape)}; give both crops the same size")
        sample = BaseDataElement(metainfo={
            "img_path": results.get("img_path"), "ori_shape": results["img"].shape[:2],
        })
        sample.crop_boxes = torch.from_numpy(np.stack([v["crop_box"] for v in views]).astype(np.float64))
        sample.flips = torch.tensor([bool(v["flip"]) for v in views])
        return {"inputs": torch.stack(imgs), "data_samples": sample}
