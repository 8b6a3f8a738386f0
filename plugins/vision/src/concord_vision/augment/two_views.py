r"""``vision.two_views``: two differently augmented crops of one image, with their geometry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from concord.augment.base import Augmentation
from concord.augment.compose import Compose
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord_vision.augment.view import check_view, replaced

__all__ = ["TwoViews", "byol_view_steps"]


def byol_view_steps(
    size: int = 224, scale: tuple[float, float] = (0.08, 1.0), sigma: tuple[float, float] = (0.1, 2.0)
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """PixPro's ``--aug BYOL`` pipelines (zdaxie/PixPro ``contrast/data/transform.py``): crop,
    flip, colour jitter (0.4, 0.4, 0.2, 0.1) with p 0.8, grayscale p 0.2, then blur p 1.0 on the
    first view and blur p 0.1 + solarize p 0.2 on the second."""
    common = [
        {"name": "vision.random_resized_crop", "size": size, "scale": list(scale)},
        {"name": "vision.random_flip", "prob": 0.5},
        {"name": "vision.color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.2,
         "hue": 0.1, "prob": 0.8},
        {"name": "vision.random_grayscale", "prob": 0.2},
    ]
    view_1 = [*common, {"name": "vision.gaussian_blur", "sigma": list(sigma), "prob": 1.0}]
    view_2 = [*common, {"name": "vision.gaussian_blur", "sigma": list(sigma), "prob": 0.1},
              {"name": "vision.solarize", "threshold": 128, "prob": 0.2}]
    return view_1, view_2


class TwoViews(Augmentation):
    r"""Two views of one image for dense (and instance) self-supervised pretraining.

    Each view runs its own steps (a :class:`concord.augment.Compose` of registered augmentations,
    all drawing from the one generator, first view first) on the *original* image, so both
    ``crop_box`` es are in the original image's coordinates and the flips are recorded -- what
    :func:`concord_vision.geometry.bin_coordinates` needs to pair their pixels (Xie et al. 2021,
    https://arxiv.org/abs/2011.10043, Sec. 3.1). The output holds ``views``: the two result dicts.

    Args:
        view_1, view_2: the steps of each view (names or ``{"name": ..., **options}``); the first
            must be ``vision.random_resized_crop`` so the geometry is known.
            :func:`byol_view_steps` gives PixPro's asymmetric BYOL pipelines.
    """

    registry_name = "vision.two_views"

    def __init__(self, *, view_1: list[Any], view_2: list[Any]) -> None:
        super().__init__()
        first = Compose(steps=view_1)
        second = Compose(steps=view_2)
        for name, comp in (("view_1", first), ("view_2", second)):
            if comp.steps[0]["name"] != "vision.random_resized_crop":
                raise InputError(
                    f"{name} must start with vision.random_resized_crop (the crop box feeds the "
                    f"pixel pairs), got {comp.steps[0]['name']!r}"
                )
        self._views = (first, second)
        self.view_1, self.view_2 = first.steps, second.steps

    def apply(self, x: Mapping[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        check_view(x)
        views = [comp(x, generator=generator) for comp in self._views]
        return replaced(x, views=views)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        img = (torch.rand(30, 40, 3, generator=generator) * 255).to(torch.uint8).numpy()
        view_1, view_2 = byol_view_steps(size=12, scale=(0.2, 1.0), sigma=(0.1, 1.0))

        def geometry(inp: Any, out: Any) -> None:
            assert np.array_equal(out["img"], inp["img"]) and len(out["views"]) == 2
            for v in out["views"]:
                x0, y0, x1, y1 = v["crop_box"]
                assert 0 <= x0 < x1 <= 40 and 0 <= y0 < y1 <= 30 and v["img"].shape == (12, 12, 3)
                assert isinstance(v["flip"], bool)

        return [AugmentationExample(init={"view_1": view_1, "view_2": view_2}, input={"img": img},
                                    check=geometry)]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        view_1, view_2 = byol_view_steps(size=12)
        return [
            BadInput({"view_1": view_1[1:], "view_2": view_2}, None, "must start with"),
            BadInput({"view_1": [{"name": "vision.random_resized_crop", "scale": [0.5, 2.0]}],
                      "view_2": view_2}, None, r"scale must lie in \(0, 1\]"),
        ]
