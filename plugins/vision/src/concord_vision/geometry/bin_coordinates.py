r"""The centre of every feature-map bin of a crop, in original-image coordinates.

PixPro (Xie et al. 2021, `Propagate Yourself <https://arxiv.org/abs/2011.10043>`_, Sec. 3.1)
decides which pixels of two views are a positive pair by "warping" each feature-map bin back to
the original image. A view is a crop ``box = (x0, y0, x1, y1)`` of the original image (pixel
edges: the crop covers ``[x0, x1) x [y0, y1)``), resized to the network input and possibly
flipped horizontally. Its ``h x w`` feature map splits the box into bins of size

.. math::
    b_w = (x_1 - x_0) / w, \qquad b_h = (y_1 - y_0) / h, \qquad \mathrm{diag} = \sqrt{b_w^2 + b_h^2},

and bin :math:`(r, c)` (row ``r``, column ``c`` of the feature map) has its centre at

.. math::
    y = y_0 + (r + \tfrac12)\, b_h, \qquad
    x = \begin{cases} x_0 + (c + \tfrac12)\, b_w & \text{not flipped} \\
                      x_1 - (c + \tfrac12)\, b_w & \text{flipped (column 0 shows the right edge)}
        \end{cases}

This is the authors' construction (``regression_loss`` in zdaxie/PixPro, where a flip swaps
``x0`` and ``x1`` so that the bin width turns negative). Two departures, both deliberate: the
coordinates stay in pixels of the original image (the authors divide x by ``W - 1`` and y by
``H - 1``, which for a non-square image such as CamVid's 240 x 180 makes the distance
anisotropic), and the box is given by its pixel edges (the authors use ``(j + w - 1) / (W - 1)``
for the right edge, shrinking every bin by one pixel's worth).
"""

from __future__ import annotations

import torch
from torch import Tensor

from concord.errors import InputError

__all__ = ["bin_centres", "bin_coordinates", "bin_diagonals"]


def _check(boxes: Tensor, flipped: Tensor, feature_hw: tuple[int, int]) -> tuple[int, int]:
    if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        shape = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise InputError(f"boxes must be a (B, 4) tensor of (x0, y0, x1, y1), got {shape}")
    if not isinstance(flipped, Tensor) or flipped.shape != (boxes.shape[0],):
        shape = tuple(flipped.shape) if isinstance(flipped, Tensor) else type(flipped).__name__
        raise InputError(f"flipped must be a ({boxes.shape[0]},) tensor, got {shape}")
    h, w = (int(v) for v in feature_hw)
    if h < 1 or w < 1:
        raise InputError(f"feature_hw must be two sizes >= 1, got {tuple(feature_hw)}")
    if not bool(torch.isfinite(boxes).all()):
        raise InputError("boxes contain non-finite values")
    if bool(((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any()):
        raise InputError("every box needs x1 > x0 and y1 > y0 (pixel edges, not a flipped box)")
    return h, w


def bin_centres(boxes: Tensor, flipped: Tensor, feature_hw: tuple[int, int]) -> Tensor:
    """Centres of the ``h x w`` bins of each crop, row-major (the order of ``flatten(2)``).

    Args:
        boxes: crop boxes ``(x0, y0, x1, y1)`` in original-image pixels.
        flipped: whether each crop was flipped horizontally after cropping.
        feature_hw: the feature map's ``(h, w)``.

    Shapes:
        boxes ``(B, 4)``, flipped ``(B,)`` -> ``(B, h * w, 2)`` as ``(x, y)``.
    """
    h, w = _check(boxes, flipped, feature_hw)
    boxes = boxes.to(torch.float64)
    x0, y0, x1, y1 = boxes.unbind(dim=1)
    bw, bh = (x1 - x0) / w, (y1 - y0) / h
    cols = torch.arange(w, dtype=torch.float64, device=boxes.device) + 0.5
    rows = torch.arange(h, dtype=torch.float64, device=boxes.device) + 0.5
    flip = flipped.to(device=boxes.device, dtype=torch.bool)[:, None]
    x = torch.where(flip, x1[:, None] - cols[None] * bw[:, None], x0[:, None] + cols[None] * bw[:, None])
    y = y0[:, None] + rows[None] * bh[:, None]
    xx = x[:, None, :].expand(-1, h, -1)
    yy = y[:, :, None].expand(-1, -1, w)
    return torch.stack([xx, yy], dim=-1).reshape(boxes.shape[0], h * w, 2)


def bin_diagonals(boxes: Tensor, feature_hw: tuple[int, int]) -> Tensor:
    """The diagonal of one bin of each crop's feature map, in original-image pixels ``(B,)``."""
    h, w = _check(boxes, torch.zeros(boxes.shape[0]), feature_hw)
    boxes = boxes.to(torch.float64)
    return torch.hypot((boxes[:, 2] - boxes[:, 0]) / w, (boxes[:, 3] - boxes[:, 1]) / h)


def bin_coordinates(
    boxes: Tensor, flipped: Tensor, feature_hw: tuple[int, int], image_ids: Tensor
) -> Tensor:
    """One row ``(image id, x, y, bin diagonal)`` per bin: the labels of
    :class:`concord_vision.pairs.PixelPairsSampler`.

    Args:
        boxes, flipped, feature_hw: as in :func:`bin_centres`.
        image_ids: the id of each crop's source image (two views of one image share it; ids must
            be unique across processes when keys are gathered).

    Shapes:
        ``(B, 4)``, ``(B,)``, ``(B,)`` -> ``(B * h * w, 4)`` float64, image-major then row-major,
        matching ``features.flatten(2).transpose(1, 2).reshape(-1, C)``.
    """
    h, w = _check(boxes, flipped, feature_hw)
    if not isinstance(image_ids, Tensor) or image_ids.shape != (boxes.shape[0],):
        shape = tuple(image_ids.shape) if isinstance(image_ids, Tensor) else type(image_ids).__name__
        raise InputError(f"image_ids must be a ({boxes.shape[0]},) tensor, got {shape}")
    centres = bin_centres(boxes, flipped, (h, w))
    diag = bin_diagonals(boxes, (h, w))
    n = h * w
    ids = image_ids.to(device=centres.device, dtype=torch.float64)[:, None].expand(-1, n)
    out = torch.cat([ids[..., None], centres, diag[:, None, None].expand(-1, n, 1)], dim=-1)
    return out.reshape(-1, 4)
