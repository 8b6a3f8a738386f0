"""The two-crop augmentations: the recorded box and flip describe the pixels actually cropped,
and each photometric step keeps what its formula keeps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from concord_vision.augment import (
    ColorJitter,
    GaussianBlur,
    RandomFlip,
    RandomGrayscale,
    RandomResizedCrop,
    TwoViews,
    byol_view_steps,
)
from concord_vision.geometry import bin_centres


def _coordinate_image(h: int = 180, w: int = 240) -> np.ndarray:
    """Channel 0 holds the column x, channel 1 the row y (BGR order, uint8)."""
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[..., 0] = np.arange(w, dtype=np.uint8)[None, :]
    img[..., 1] = np.arange(h, dtype=np.uint8)[:, None]
    return img


@pytest.mark.parametrize("seed", range(6))
def test_recorded_box_and_flip_locate_every_output_pixel(seed):
    # Each output pixel is a 1 x 1 "bin": bin_centres(box, flip, output size) gives its centre in
    # the original image in edge coordinates, i.e. pixel index + 0.5. Read back from the
    # coordinate image, the crop must show exactly those positions (catches a box recorded as
    # (x, y, w, h), an off-by-one box, x / y swapped, a flip not recorded or not applied).
    g = torch.Generator().manual_seed(seed)
    img = _coordinate_image()
    crop = RandomResizedCrop(size=(24, 32), scale=(0.1, 1.0))
    view = RandomFlip(prob=0.5)(crop({"img": img}, generator=g), generator=g)
    box = torch.tensor(view["crop_box"])[None]
    centres = bin_centres(box, torch.tensor([view["flip"]]), (24, 32))[0].reshape(24, 32, 2)
    x_read = view["img"][..., 0].astype(float)
    y_read = view["img"][..., 1].astype(float)
    assert np.abs(x_read - (centres[..., 0].numpy() - 0.5)).max() <= 1.0
    assert np.abs(y_read - (centres[..., 1].numpy() - 0.5)).max() <= 1.0


def test_scale_bounds_the_box_area():
    g = torch.Generator().manual_seed(0)
    crop = RandomResizedCrop(size=16, scale=(0.3, 0.5))
    for _ in range(50):
        x0, y0, x1, y1 = crop({"img": _coordinate_image()}, generator=g)["crop_box"]
        frac = (x1 - x0) * (y1 - y0) / (240 * 180)
        assert 0.27 <= frac <= 0.53  # rounding of width and height only


def test_grayscale_uses_rgb_luma_weights_on_bgr_input():
    red_bgr = np.zeros((2, 2, 3), dtype=np.uint8)
    red_bgr[..., 2] = 255
    out = RandomGrayscale(prob=1.0)({"img": red_bgr}, generator=torch.Generator())["img"]
    assert (out == 76).all()  # 0.299 * 255; a B/R mix-up would give 29 (0.114 * 255)
    out = RandomGrayscale(prob=1.0, channel_order="rgb")({"img": red_bgr}, generator=torch.Generator())
    assert (out["img"] == 29).all()


def test_saturation_keeps_luma_and_brightness_scales():
    g = torch.Generator().manual_seed(1)
    img = (torch.rand(20, 20, 3, generator=g) * 200 + 20).to(torch.uint8).numpy()
    sat = ColorJitter(brightness=0, contrast=0, saturation=0.9, hue=0, prob=1.0)
    out = sat({"img": img}, generator=g)["img"]
    luma = lambda a: a[..., ::-1].astype(float) @ np.array([0.299, 0.587, 0.114])  # noqa: E731
    assert not np.array_equal(out, img)
    assert np.abs(luma(out) - luma(img)).max() <= 1.5  # blending towards gray keeps gray
    bright = ColorJitter(brightness=0.3, contrast=0, saturation=0, hue=0, prob=1.0)
    out = bright({"img": img}, generator=g)["img"].astype(float)
    ratio = out / img.astype(float)
    assert ratio.std() < 0.02 and abs(ratio.mean() - 1) <= 0.3 + 0.02


def test_hue_rotation_keeps_a_pure_colour_saturated():
    blue = np.zeros((3, 3, 3), dtype=np.uint8)
    blue[..., 0] = 255
    jitter = ColorJitter(brightness=0, contrast=0, saturation=0, hue=0.5, prob=1.0)
    for seed in range(5):
        out = jitter({"img": blue}, generator=torch.Generator().manual_seed(seed))["img"].astype(int)
        assert (out.max(axis=2) >= 254).all() and (out.min(axis=2) <= 1).all()


def test_blur_of_a_step_edge_has_a_gaussian_derivative_of_variance_sigma_squared():
    img = np.zeros((9, 61, 3), dtype=np.uint8)
    img[:, 30:] = 255
    out = GaussianBlur(sigma=(2.0, 2.0), prob=1.0)({"img": img}, generator=torch.Generator())
    d = np.diff(out["img"][4, :, 0].astype(float))  # the blurred edge's slope: the kernel
    u = np.arange(d.shape[0]) - (d * np.arange(d.shape[0])).sum() / d.sum()
    var = (d * u**2).sum() / d.sum()
    assert abs(var - 4.0) < 0.4  # sigma = 2 (a box blur or a sigma read as variance fails)


def test_byol_view_steps_are_the_authors_asymmetric_probabilities():
    # zdaxie/PixPro contrast/data/transform.py, aug_type == 'BYOL'
    v1, v2 = byol_view_steps()
    probs = lambda steps: {s["name"]: s.get("prob") for s in steps}  # noqa: E731
    assert probs(v1)["vision.gaussian_blur"] == 1.0 and "vision.solarize" not in probs(v1)
    assert probs(v2)["vision.gaussian_blur"] == 0.1 and probs(v2)["vision.solarize"] == 0.2
    for steps in (v1, v2):
        p = probs(steps)
        assert p["vision.color_jitter"] == 0.8 and p["vision.random_grayscale"] == 0.2
        assert p["vision.random_flip"] == 0.5
        jitter = next(s for s in steps if s["name"] == "vision.color_jitter")
        assert (jitter["brightness"], jitter["contrast"], jitter["saturation"], jitter["hue"]) == (
            0.4, 0.4, 0.2, 0.1)


def test_two_views_crop_the_original_image_independently():
    v1, v2 = byol_view_steps(size=32, scale=(0.08, 1.0))
    views = TwoViews(view_1=v1, view_2=v2)
    img = _coordinate_image()
    boxes = [views({"img": img}, generator=torch.Generator().manual_seed(s))["views"] for s in range(10)]
    assert any(not np.array_equal(a["crop_box"], b["crop_box"]) for a, b in boxes)
    for a, b in boxes:
        for v in (a, b):
            assert 0 <= v["crop_box"][0] < v["crop_box"][2] <= 240


def test_crop_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"scale must lie in \(0, 1\]"):
        RandomResizedCrop(scale=(0.5, 1.2))
    with pytest.raises(ValueError, match="0 < low"):
        RandomResizedCrop(scale=(-0.1, 1.0))
    with pytest.raises(ValueError, match=r"180x240 .* smaller than the 224x224 output"):
        RandomResizedCrop(size=224)({"img": _coordinate_image()}, generator=torch.Generator())
