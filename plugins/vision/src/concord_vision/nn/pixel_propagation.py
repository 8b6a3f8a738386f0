r"""PixPro's pixel propagation module (PPM)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.errors import InputError

__all__ = ["PixelPropagation"]


class PixelPropagation(nn.Module):
    r"""Pixel propagation module (Xie et al. 2021, `Propagate Yourself
    <https://arxiv.org/abs/2011.10043>`_, Eqs. 3-4):

    .. math::
        s(x_i, x_j) = \max(\cos(x_i, x_j), 0)^{\gamma}, \qquad
        y_i = \sum_{j \in \Omega} s(x_i, x_j)\, \frac{g(x_j)}{\lVert g(x_j) \rVert_2}

    over every pixel :math:`j` of the same feature map :math:`\Omega`, with :math:`\gamma = 2` and
    :math:`g` one 1x1 convolution (``transform_layers=1``, the paper's best; ``0`` is the identity
    and ``2`` a 1x1 conv - BN - ReLU - 1x1 conv). The sum is not renormalised by
    :math:`\sum_j s`; the consistency loss compares directions only.

    Departure from Eq. 4, as in the authors' ``featprop``: :math:`g(x_j)` is L2-normalised before
    the sum (the equation writes :math:`g(x_j)`).

    Args:
        channels: feature channels :math:`C`.
        gamma: sharpness exponent :math:`\gamma > 0` (default: ``2``).
        transform_layers: 0, 1 or 2 (default: ``1``).

    Shapes:
        ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int, *, gamma: float = 2.0, transform_layers: int = 1) -> None:
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise InputError(f"channels must be an integer >= 1, got {channels!r}")
        if not gamma > 0:
            raise InputError(f"gamma must be > 0, got {gamma!r}")
        if transform_layers not in (0, 1, 2):
            raise InputError(f"transform_layers must be 0, 1 or 2, got {transform_layers!r}")
        self.channels, self.gamma, self.transform_layers = channels, float(gamma), transform_layers
        if transform_layers == 0:
            self.transform: nn.Module = nn.Identity()
        elif transform_layers == 1:
            self.transform = nn.Conv2d(channels, channels, 1)
        else:
            self.transform = nn.Sequential(
                nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
                nn.Conv2d(channels, channels, 1),
            )

    def similarity(self, x: Tensor) -> Tensor:
        """:math:`s(x_i, x_j)` for every pair of pixels of each map: ``(B, HW, HW)``."""
        flat = nn.functional.normalize(x.flatten(2), dim=1)
        cos = torch.bmm(flat.transpose(1, 2), flat)
        return cos.clamp(min=0).pow(self.gamma)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise InputError(f"PixelPropagation expects (B, {self.channels}, H, W), got {tuple(x.shape)}")
        b, c, h, w = x.shape
        value = nn.functional.normalize(self.transform(x), dim=1).flatten(2)  # (B, C, HW)
        y = torch.bmm(value, self.similarity(x).transpose(1, 2))  # y[:, :, i] = sum_j s_ij g_j
        return y.reshape(b, c, h, w)

    def extra_repr(self) -> str:
        return f"{self.channels}, gamma={self.gamma}, transform_layers={self.transform_layers}"
