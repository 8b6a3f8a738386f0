"""A diffusers UNet as a consistency function f(x, sigma)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.errors import ConfigError, InputError
from concord_diffusion.ict.parameterization import Parameterization

__all__ = ["ConsistencyFunction", "expand_sigma"]


def expand_sigma(sigma: Tensor | float, x: Tensor) -> Tensor:
    """Noise levels as a float64 ``(N,)`` tensor on ``x``'s device (a number is used for every row)."""
    n = x.shape[0]
    s = torch.as_tensor(sigma, dtype=torch.float64, device=x.device)
    if s.dim() == 0:
        s = s.expand(n)
    if s.shape != (n,):
        raise InputError(f"sigma must be a number or have shape ({n},), got {tuple(s.shape)}")
    return s.to(torch.float64)


class ConsistencyFunction(nn.Module):
    r"""The consistency model of Song et al. 2023 (`Consistency Models
    <https://arxiv.org/abs/2303.01469>`_, Eq. 5) around any ``diffusers.UNet2DModel``:

    .. math::
        f_\theta(x, \sigma) = c_{\text{skip}}(\sigma)\, x
            + c_{\text{out}}(\sigma)\, F_\theta\bigl(c_{\text{in}}(\sigma)\, x,\ 250 \ln \sigma\bigr)

    with the factors of :class:`~concord_diffusion.ict.parameterization.Parameterization`. The
    UNet sees exactly what ``ConsistencyModelPipeline`` gives it (``scheduler.scale_model_input``
    and ``scheduler.timesteps``), so its weights are a pipeline's weights.

    Args:
        unet: the network :math:`F_\theta` (a ``diffusers.UNet2DModel``; any module called as
            ``unet(sample, timestep).sample`` works).
        parameterization: the factors (default: iCT's with ``sigma_min=0.002, sigma_data=0.5``).

    Shapes:
        x: ``(N, C, H, W)`` with ``C`` the UNet's ``in_channels``; sigma: a number or ``(N,)``.
        Output: ``(N, C, H, W)``, in ``x``'s dtype.
    """

    def __init__(self, unet: nn.Module, parameterization: Parameterization | None = None) -> None:
        super().__init__()
        self.unet = unet
        self.parameterization = parameterization or Parameterization()
        config = getattr(unet, "config", None)
        self.in_channels = getattr(config, "in_channels", None)
        self.out_channels = getattr(config, "out_channels", None)
        if self.in_channels is not None and self.out_channels is not None and self.in_channels != self.out_channels:
            raise ConfigError(
                f"a consistency model maps samples to samples: the UNet has in_channels="
                f"{self.in_channels} but out_channels={self.out_channels}"
            )

    def forward(self, x: Tensor, sigma: Tensor | float) -> Tensor:
        if x.dim() != 4:
            raise InputError(f"x must be a (N, C, H, W) batch of images, got shape {tuple(x.shape)}")
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            raise InputError(
                f"the images have {x.shape[1]} channel(s) but the UNet expects in_channels={self.in_channels}"
            )
        s = expand_sigma(sigma, x)
        p = self.parameterization
        shape = (-1, 1, 1, 1)
        c_in = p.c_in(s).to(x.dtype).view(shape)
        c_skip = p.c_skip(s).to(x.dtype).view(shape)
        c_out = p.c_out(s).to(x.dtype).view(shape)
        t = p.c_noise(s).to(torch.float32)
        out = self.unet(c_in * x, t).sample
        return c_skip * x + c_out * out.to(x.dtype)
