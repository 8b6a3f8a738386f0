"""What mixup-style augmentations share: a labelled batch in, a partner permutation and mixing
coefficients drawn from an explicit generator, and ``(mixed, labels_a, labels_b, lam)`` out."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.errors import InputError
from concord.validation import check_embeddings, check_labels, check_positive

__all__ = ["check_alpha", "check_labelled_batch", "draw_partners", "sample_beta"]


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """A Beta concentration: finite and > 0 (the message names ``name``)."""
    return check_positive(name, alpha)


def check_labelled_batch(batch: Any, *, min_dim: int = 2) -> tuple[Tensor, Tensor]:
    """``(x, labels)``: a finite float batch with at least ``min_dim`` dims and one integer
    label per row."""
    if not isinstance(batch, tuple) or len(batch) != 2:
        raise InputError(
            f"expected an (inputs, labels) tuple, got {type(batch).__name__}"
            + (f" of length {len(batch)}" if isinstance(batch, tuple) else "")
        )
    x, y = batch
    check_embeddings("inputs", x, ndim=tuple(range(min_dim, 9)), min_rows=1)
    return x, check_labels("labels", y, int(x.shape[0]))


def sample_beta(alpha: float, n: int, generator: torch.Generator | None) -> Tensor:
    """``n`` draws of :math:`\\mathrm{Beta}(\\alpha, \\alpha)` from ``generator`` (CPU), as a
    ratio of two Gamma draws: :math:`G_1 / (G_1 + G_2)`, :math:`G_i \\sim \\Gamma(\\alpha, 1)`."""
    shape = torch.full((2, n), float(alpha), dtype=torch.float64)
    g = torch._standard_gamma(shape, generator=generator)  # the sampler Beta uses, seeded
    total = g.sum(dim=0)
    # both gammas can underflow to 0 for tiny alpha: the limit Beta(a, a) -> {0, 1} w.p. 1/2
    return torch.where(total > 0, g[0] / total.clamp_min(1e-300), (g[0] >= g[1]).double())


def draw_partners(n: int, generator: torch.Generator | None) -> Tensor:
    """The partner of each row: a random permutation of ``range(n)``."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.randperm(n, generator=generator, device=gen_device)
