"""mixup: convex combinations of input pairs and of their labels."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.augment.base import Augmentation
from concord.augment.mixing import check_alpha, check_labelled_batch, draw_partners, sample_beta
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_choice

__all__ = ["Mixup"]


class Mixup(Augmentation):
    r"""mixup (Zhang et al. 2018, `mixup: Beyond Empirical Risk Minimization
    <https://arxiv.org/abs/1710.09412>`_, Sec. 2): each row is mixed with a partner row drawn by a
    random permutation,

    .. math::
        \tilde{x} = \lambda x_i + (1 - \lambda) x_j,\qquad
        \tilde{y} = \lambda y_i + (1 - \lambda) y_j,\qquad \lambda \sim \mathrm{Beta}(\alpha, \alpha).

    The labels are returned unmixed, ``(x_mixed, y_a, y_b, lam)``, so that any mixed-label loss
    (the mixed cross-entropy :math:`\lambda\,\mathrm{CE}(\cdot, y_a) + (1-\lambda)\,\mathrm{CE}(\cdot,
    y_b)`, :class:`~concord.losses.decoupled_mixup.DecoupledMixup`) can use them; ``lam`` has one
    entry per row. One :math:`\lambda` per batch (``per_sample=False``, the paper's and its
    code's choice) or one per row.

    Args:
        alpha: :math:`\alpha > 0` (default: ``1.0``; the paper uses 0.2-0.4 on ImageNet, 1.0 on
            CIFAR).
        lam_mode: ``"batch"`` (one :math:`\lambda`) or ``"sample"`` (one per row) (default:
            ``"batch"``).

    Shapes:
        input: ``(x, y)`` with ``x: (N, *)`` float, ``y: (N,)`` integer labels. Output:
        ``(x_mixed (N, *), y_a (N,), y_b (N,), lam (N,))``.
    """

    registry_name = "mixup"

    def __init__(self, *, alpha: float = 1.0, lam_mode: str = "batch") -> None:
        self.alpha = check_alpha(alpha)
        self.lam_mode = check_choice("lam_mode", lam_mode, ("batch", "sample"))

    def apply(self, batch: Any, generator: torch.Generator | None) -> tuple[Tensor, ...]:
        x, y = check_labelled_batch(batch)
        n = int(x.shape[0])
        lam = sample_beta(self.alpha, 1 if self.lam_mode == "batch" else n, generator)
        lam = lam.expand(n) if self.lam_mode == "batch" else lam
        partner = draw_partners(n, generator).to(x.device)
        w = lam.to(x.device, x.dtype).reshape(n, *([1] * (x.dim() - 1)))
        mixed = w * x + (1 - w) * x[partner]
        return mixed, y, y[partner], lam.to(x.device, torch.float32)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        x = torch.randn(6, 3, generator=generator)
        y = torch.tensor([0, 1, 2, 0, 1, 2])

        def convex(inp: tuple, out: tuple) -> None:
            x_in, y_in = inp
            mixed, y_a, y_b, lam = out
            assert mixed.shape == x_in.shape and torch.equal(y_a, y_in)
            assert bool(((lam >= 0) & (lam <= 1)).all())
            assert sorted(y_b.tolist()) == sorted(y_in.tolist())

        return [
            AugmentationExample(init={}, input=(x, y), check=convex),
            AugmentationExample(init={"alpha": 0.2, "lam_mode": "sample"}, input=(x, y), check=convex),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        x = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"alpha": 0.0}, None, "alpha"),
            BadInput({"lam_mode": "pixel"}, None, "lam_mode"),
            BadInput({}, (x,), "tuple"),
            BadInput({}, ((x, torch.tensor([0, 1])),), "labels has 2 entries"),
            BadInput({}, ((x, torch.rand(4)),), "integer"),
        ]
