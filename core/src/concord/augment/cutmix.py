"""CutMix: paste a random box of a partner image, mix the labels by area."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from concord.augment.base import Augmentation
from concord.augment.mixing import check_alpha, check_labelled_batch, draw_partners, sample_beta
from concord.contract import AugmentationExample, BadInput

__all__ = ["CutMix"]


class CutMix(Augmentation):
    r"""CutMix (Yun et al. 2019, `CutMix: Regularization Strategy to Train Strong Classifiers with
    Localizable Features <https://arxiv.org/abs/1905.04899>`_, Eq. 1-2): a box of each image is
    replaced by the same box of its partner image (a random permutation),

    .. math::
        \tilde{x} = M \odot x_A + (\mathbf{1} - M) \odot x_B,\qquad
        \tilde{y} = \lambda y_A + (1 - \lambda) y_B,

    the box :math:`B = (r_x, r_y, r_w, r_h)` with centre uniform over the pixels and
    :math:`r_w = W\sqrt{1-\lambda}`, :math:`r_h = H\sqrt{1-\lambda}`, :math:`\lambda \sim
    \mathrm{Beta}(\alpha, \alpha)`. As in the authors' code (``rand_bbox``) the centre is an
    integer pixel, the half sizes ``int(W * sqrt(1 - lam)) // 2``, the box is clipped at the image
    border, the same box serves the whole batch, and :math:`\lambda` is then set to the kept area
    fraction :math:`1 - |B| / (WH)`, so the labels match the pixels exactly.

    Returns ``(x_mixed, y_a, y_b, lam)`` as :class:`~concord.augment.mixup.Mixup` does.

    Args:
        alpha: :math:`\alpha > 0` (default: ``1.0``, the paper's).

    Shapes:
        input: ``(x, y)``, ``x: (N, *, H, W)`` (at least 3-D, the last two dims spatial), ``y:
        (N,)`` integers. Output: ``(x_mixed, y_a (N,), y_b (N,), lam (N,))``.
    """

    registry_name = "cutmix"

    def __init__(self, *, alpha: float = 1.0) -> None:
        self.alpha = check_alpha(alpha)

    def apply(self, batch: Any, generator: torch.Generator | None) -> tuple[Tensor, ...]:
        x, y = check_labelled_batch(batch, min_dim=3)
        n, h, w = int(x.shape[0]), int(x.shape[-2]), int(x.shape[-1])
        lam = float(sample_beta(self.alpha, 1, generator))
        partner = draw_partners(n, generator).to(x.device)
        gen_device = generator.device if generator is not None else torch.device("cpu")
        cy = int(torch.randint(0, h, (1,), generator=generator, device=gen_device))
        cx = int(torch.randint(0, w, (1,), generator=generator, device=gen_device))
        cut = math.sqrt(1.0 - lam)
        half_h, half_w = int(h * cut) // 2, int(w * cut) // 2  # the authors' np.int(W * cut_rat) // 2
        y0, y1 = min(max(cy - half_h, 0), h), min(max(cy + half_h, 0), h)
        x0, x1 = min(max(cx - half_w, 0), w), min(max(cx + half_w, 0), w)
        mixed = x.clone()
        mixed[..., y0:y1, x0:x1] = x[partner][..., y0:y1, x0:x1]
        kept = 1.0 - (y1 - y0) * (x1 - x0) / (h * w)
        return mixed, y, y[partner], torch.full((n,), kept, device=x.device, dtype=torch.float32)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        x = torch.randn(4, 2, 8, 6, generator=generator)
        y = torch.tensor([0, 1, 2, 3])

        def box_and_area(inp: tuple, out: tuple) -> None:
            x_in, _ = inp
            mixed, _, _, lam = out
            h, w = x_in.shape[-2:]
            changed = (mixed != x_in).reshape(-1, h, w).any(dim=0)  # (H, W)
            if bool(changed.any()):  # (a partner equal to its row changes nothing)
                assert abs(float(lam[0]) - (1.0 - float(changed.double().mean()))) < 1e-6

        return [
            AugmentationExample(init={}, input=(x, y), check=box_and_area),
            AugmentationExample(init={"alpha": 0.5}, input=(x[:, 0], y), check=box_and_area),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"alpha": -1.0}, None, "alpha"),
            BadInput({}, ((torch.randn(4, 5), torch.arange(4)),), "3-D"),
        ]
