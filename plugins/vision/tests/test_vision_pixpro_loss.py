"""PixPro's pixel-to-propagation loss and propagation module against the formulas written out
(Xie et al. 2021, Eqs. 3-5; the authors' regression_loss and featprop)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from concord_vision.geometry import bin_coordinates
from concord_vision.losses import PixProLoss
from concord_vision.nn import PixelPropagation


def _cos(a, b):
    return float(a @ b) / (float(a.norm()) * float(b.norm()))


def test_loss_matches_the_authors_formula_over_hand_pairs(hand_pairs):
    g = torch.Generator().manual_seed(0)
    # image 0: the hand-made boxes of the pair test (12 positive pairs); image 1: crops that do
    # not overlap, so it has no positive pair and adds 0 to the mean over 2 images
    b1 = torch.tensor([hand_pairs["boxes"][0], (0.0, 0.0, 60.0, 60.0)])
    b2 = torch.tensor([hand_pairs["boxes"][1], (150.0, 100.0, 240.0, 180.0)])
    ids = torch.tensor([0, 1])
    c1 = bin_coordinates(b1, torch.tensor([False, False]), (3, 3), ids)
    c2 = bin_coordinates(b2, torch.tensor([False, False]), (3, 3), ids)
    y, x = torch.randn(18, 5, generator=g), torch.randn(18, 5, generator=g)
    image0 = sum(_cos(y[i], x[j]) for i, j in hand_pairs["pairs"])
    image0 /= len(hand_pairs["pairs"]) + 1e-6
    expected = -2 * (image0 + 0.0) / 2
    for block in (None, 4):
        got = PixProLoss(block_size=block)(y, x, c1, c2)
        assert math.isclose(float(got), expected, rel_tol=1e-5)
    # catches a mean over images with positives only (that would give -2 * image0)
    assert not math.isclose(expected, -2 * image0, rel_tol=1e-2)


def test_loss_is_not_the_mean_over_all_pairs():
    # one image, two pixels per view; only (0, 0) is positive. A loss that averaged over every
    # pair, or pooled the cosine of mean features, would differ.
    c1 = torch.tensor([[0.0, 10.0, 10.0, 10.0], [0.0, 50.0, 10.0, 10.0]], dtype=torch.float64)
    c2 = torch.tensor([[0.0, 12.0, 10.0, 10.0], [0.0, 90.0, 10.0, 10.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    x = torch.tensor([[1.0, 1.0], [-1.0, 0.0]])
    got = PixProLoss()(y, x, c1, c2)
    assert math.isclose(float(got), -2 * (1 / math.sqrt(2)) / (1 + 1e-6), rel_tol=1e-6)


def propagate_loop(x, weight, bias, gamma):
    """Eqs. 3-4 pixel by pixel: y_i = sum_j max(cos(x_i, x_j), 0)^gamma g(x_j) / |g(x_j)|."""
    b, c, h, w = x.shape
    flat = x.flatten(2)
    out = torch.zeros_like(flat)
    for n in range(b):
        gx = [weight @ flat[n, :, j] + bias for j in range(h * w)]
        gx = [v / v.norm() for v in gx]
        for i in range(h * w):
            for j in range(h * w):
                s = max(_cos(flat[n, :, i], flat[n, :, j]), 0.0) ** gamma
                out[n, :, i] += s * gx[j]
    return out.reshape(b, c, h, w)


def test_pixel_propagation_matches_the_loop():
    torch.manual_seed(0)
    ppm = PixelPropagation(4, gamma=2.0, transform_layers=1)
    x = torch.randn(2, 4, 3, 2)
    w = ppm.transform.weight[:, :, 0, 0].detach()
    expected = propagate_loop(x, w, ppm.transform.bias.detach(), 2.0)
    torch.testing.assert_close(ppm(x).detach(), expected, rtol=1e-5, atol=1e-5)
    # the similarity is clamped at 0 and squared: a negative cosine contributes nothing
    s = ppm.similarity(torch.tensor([[[[1.0, -1.0, 0.6]], [[0.0, 0.0, 0.8]]]]))
    torch.testing.assert_close(s[0, 0], torch.tensor([1.0, 0.0, 0.36]))


def test_identity_transform_and_gamma():
    x = torch.randn(1, 3, 2, 2)
    ppm = PixelPropagation(3, gamma=1.0, transform_layers=0)
    expected = propagate_loop(x, torch.eye(3), torch.zeros(3), 1.0)
    torch.testing.assert_close(ppm(x), expected, rtol=1e-5, atol=1e-5)
    flat = F.normalize(x.flatten(2), dim=1)
    assert not torch.allclose(ppm(x), PixelPropagation(3, gamma=2.0, transform_layers=0)(x))
    assert flat.shape == (1, 3, 4)
