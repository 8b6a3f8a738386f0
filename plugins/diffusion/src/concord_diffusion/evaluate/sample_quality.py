"""1- and 2-step sample quality of a consistency model: FD and precision / recall on features."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from concord_diffusion.evaluate.feature_source import extract_features
from concord_diffusion.evaluate.frechet import feature_statistics, frechet_distance
from concord_diffusion.evaluate.precision_recall import precision_recall
from concord_diffusion.sampling.sampler import consistency_sample

__all__ = ["generate", "sample_quality"]


@torch.no_grad()
def generate(fn: nn.Module, n: int, shape: tuple[int, ...], sigmas: Sequence[float], *, seed_stream: Callable[[int], torch.Generator],
             batch_size: int, sigma_min: float, clip: bool, device: torch.device | str) -> Tensor:
    """``n`` samples (float ``[-1, 1]``, CPU), batch ``b`` drawn from ``seed_stream(b)``."""
    out = []
    for b, i in enumerate(range(0, n, batch_size)):
        g = seed_stream(b)
        m = min(batch_size, n - i)
        noise = torch.randn((m, *shape), generator=g).to(device)
        out.append(consistency_sample(fn, noise, sigmas, sigma_min=sigma_min, clip=clip, generator=g).cpu())
    return torch.cat(out)


def sample_quality(real_features: Tensor, fake: Tensor, features: Callable[[Tensor], Tensor], *, k: int = 3,
                   pr_reference: Tensor | None = None, batch_size: int = 500,
                   device: torch.device | str = "cpu") -> dict[str, float]:
    """FD between the real and generated feature Gaussians, and precision / recall (k-NN balls)
    against ``pr_reference`` real features (default: the first ``len(fake)`` real ones, so both
    sets have the same size as in Kynkäänniemi et al.)."""
    fake_features = extract_features(features, fake, batch_size=batch_size, device=device)
    fd = frechet_distance(*feature_statistics(real_features), *feature_statistics(fake_features))
    ref = pr_reference if pr_reference is not None else real_features[: fake_features.shape[0]]
    precision, recall = precision_recall(ref, fake_features, k=k)
    return {"fd": fd, "precision": precision, "recall": recall}
