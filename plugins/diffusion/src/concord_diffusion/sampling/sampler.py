"""Multistep consistency sampling (Algorithm 1 of Consistency Models)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from concord.errors import InputError

__all__ = ["consistency_sample"]


@torch.no_grad()
def consistency_sample(
    fn: nn.Module,
    noise: Tensor,
    sigmas: Sequence[float],
    *,
    sigma_min: float = 0.002,
    clip: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Multistep consistency sampling (Song et al. 2023, `Consistency Models
    <https://arxiv.org/abs/2303.01469>`_, Algorithm 1), with the noise of each step drawn from
    ``generator`` in the order ``ConsistencyModelPipeline`` draws it:

    .. math::
        x \leftarrow f(\sigma_0 z_0, \sigma_0);\qquad
        \text{for } n = 1, \dots: \quad
        \hat x \leftarrow x + \sqrt{\sigma_n^2 - \sigma_{\min}^2}\, z_n,\quad
        x \leftarrow f(\hat x, \sigma_n)

    ``clip`` clamps each :math:`f` to :math:`[-1, 1]`, as the authors' code and diffusers'
    scheduler (``clip_denoised=True``) do.

    Args:
        fn: the consistency function :math:`f` (eval mode is used for the call).
        noise: :math:`z_0`, standard normal ``(N, C, H, W)``.
        sigmas: the descending noise levels :math:`\sigma_0 > \sigma_1 > \dots` (one per step;
            ``[sigma_max]`` for 1 step; :func:`~concord_diffusion.sampling.pipeline.pipeline_sigmas`
            gives the pipeline's).
        sigma_min: :math:`\sigma_{\min}` (default: ``0.002``).
        clip: clamp to ``[-1, 1]`` after every step (default: ``True``).
        generator: draws :math:`z_1, z_2, \dots` (needed with more than one level).

    Returns:
        ``(N, C, H, W)`` samples in ``noise``'s dtype.
    """
    levels = [float(s) for s in sigmas]
    if not levels:
        raise InputError("sampling needs at least one noise level")
    if any(not math.isfinite(s) or s < sigma_min for s in levels):
        raise InputError(f"every sampling level must be finite and >= sigma_min={sigma_min}, got {levels}")
    if any(b >= a for a, b in itertools.pairwise(levels)):
        raise InputError(f"sampling levels must be strictly descending, got {levels}")
    was_training = fn.training
    fn.eval()
    try:
        x = fn(noise * levels[0], levels[0])
        if clip:
            x = x.clamp(-1, 1)
        for s in levels[1:]:
            # drawn on the generator's device and moved, as diffusers' randn_tensor does
            where = generator.device if generator is not None else noise.device
            z = torch.randn(noise.shape, generator=generator, dtype=noise.dtype, device=where).to(noise.device)
            x = fn(x + math.sqrt(s * s - sigma_min * sigma_min) * z, s)
            if clip:
                x = x.clamp(-1, 1)
    finally:
        fn.train(was_training)
    return x
