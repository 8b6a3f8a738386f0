r"""Projection / prediction heads of 1x1 convolutions."""

from __future__ import annotations

from torch import Tensor, nn

from concord.errors import InputError

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Sequential):
    r"""A two-layer MLP applied at every pixel: 1x1 conv - BN - ReLU - 1x1 conv.

    .. math::
        h(x) = W_2\, \mathrm{ReLU}(\mathrm{BN}(W_1 x + b_1)) + b_2

    PixPro's projector and BYOL's projector / predictor (Xie et al. 2021, Sec. 4.1: "a two-layer
    MLP with 4096 hidden channels and 256 output channels", written as 1x1 convs in the authors'
    ``MLP2d``). On a pooled ``(B, C, 1, 1)`` map it is the instance-level MLP of BYOL (Grill et al.
    2020, https://arxiv.org/abs/2006.07733, Sec. 3.3). DenseCL's dense head has no BN
    (``norm=False``: 1x1 conv - ReLU - 1x1 conv, Wang et al. 2021, Sec. 3.2).

    Args:
        in_channels: input channels.
        hidden_channels: hidden width (default: ``4096``).
        out_channels: output channels (default: ``256``).
        norm: batch norm after the first layer (default: ``True``).

    Shapes:
        ``(B, in, H, W) -> (B, out, H, W)``.
    """

    def __init__(
        self, in_channels: int, hidden_channels: int = 4096, out_channels: int = 256, *,
        norm: bool = True,
    ) -> None:
        for name, v in (("in_channels", in_channels), ("hidden_channels", hidden_channels),
                        ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be an integer >= 1, got {v!r}")
        layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden_channels, 1)]
        if norm:
            layers.append(nn.BatchNorm2d(hidden_channels))
        layers += [nn.ReLU(inplace=True), nn.Conv2d(hidden_channels, out_channels, 1)]
        super().__init__(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise InputError(f"ProjectionHead expects (B, C, H, W), got {tuple(x.shape)}")
        return super().forward(x)
