"""UDA consistency: KL from a sharpened, confidence-masked weak-view prediction to the strong view."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.validation import check_embeddings, check_positive, check_probability

__all__ = ["KLConsistency"]


class KLConsistency(Loss):
    r"""Unsupervised data augmentation's consistency loss (Xie et al. 2020, `Unsupervised Data
    Augmentation for Consistency Training <https://arxiv.org/abs/1904.12848>`_, Eq. 1 and
    Sec. 3.2 "confidence-based masking" and "sharpening predictions"):

    .. math::
        \mathcal{L} = \frac{1}{N} \sum_{i=1}^{N}
            \mathbb{1}\left[\max_c p_\theta(c \mid x_i) > \beta\right]\,
            \mathrm{KL}\left(\operatorname{sg}\left[p^{(\tau)}_\theta(\cdot \mid x_i)\right]
            \,\Big\Vert\, p_\theta(\cdot \mid \hat{x}_i)\right),
        \qquad p^{(\tau)} = \operatorname{softmax}(\text{logits} / \tau)

    The weak (original) view's prediction is sharpened with temperature :math:`\tau`, detached
    (stop-gradient: the target is fixed, as in the paper), and samples whose weak prediction is
    not confident enough are masked out. The mean runs over the whole batch (masked samples count
    as 0), as the official implementation does, so the loss shrinks while few samples are
    confident -- UDA's intended warm-up behaviour.

    Args:
        temperature: sharpening :math:`\tau` (default: ``0.4``, UDA on ImageNet; ``None``: none).
        threshold: confidence :math:`\beta` in [0, 1) (default: ``0.8``, UDA on ImageNet;
            ``None``: no mask).

    Shapes:
        logits_weak, logits_strong: ``(N, C)``. Output: scalar.
    """

    registry_name = "kl_consistency"
    invariances = ("permutation",)
    half_precision = ("bf16", "fp16")

    def __init__(self, *, temperature: float | None = 0.4, threshold: float | None = 0.8) -> None:
        super().__init__()
        self.temperature = None if temperature is None else check_positive("temperature", temperature)
        self.threshold = None if threshold is None else check_probability("threshold", threshold)

    def forward(self, logits_weak: Tensor, logits_strong: Tensor) -> Tensor:
        check_embeddings("logits_weak", logits_weak)
        check_embeddings("logits_strong", logits_strong)
        if logits_weak.shape != logits_strong.shape:
            raise InputError(
                f"logits_weak and logits_strong shapes differ: {tuple(logits_weak.shape)} vs "
                f"{tuple(logits_strong.shape)}"
            )
        if logits_weak.shape[1] < 2:
            raise InputError(f"need at least 2 classes, got shape {tuple(logits_weak.shape)}")
        weak = logits_weak.detach().float()
        sharp = weak / self.temperature if self.temperature is not None else weak
        target_log = F.log_softmax(sharp, dim=1)
        log_q = F.log_softmax(logits_strong.float(), dim=1)
        kl = (target_log.exp() * (target_log - log_q)).sum(dim=1)
        if self.threshold is not None:
            confident = F.softmax(weak, dim=1).max(dim=1).values > self.threshold
            kl = kl * confident
        return kl.mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        weak = 3 * torch.randn(8, 5, generator=generator)
        strong = weak + torch.randn(8, 5, generator=generator)
        return [
            LossExample(init={"threshold": None}, args=(weak, strong), grad_args=(1,)),
            LossExample(init={"temperature": None, "threshold": None}, args=(weak, strong),
                        grad_args=(1,)),
            LossExample(init={"threshold": 0.5}, args=(weak, strong), grad_args=(1,)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        x = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({"threshold": 1.0}, None, "threshold"),
            BadInput({}, (x, x[:, :2]), "shapes differ"),
            BadInput({}, (x[:, :1], x[:, :1]), "at least 2 classes"),
        ]
