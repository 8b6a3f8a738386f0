"""Decoupled mixup: the mixed cross-entropy plus a regulariser that does not let the two mixed
classes compete."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.validation import (
    check_choice,
    check_embeddings,
    check_finite,
    check_labels,
    check_positive,
)

__all__ = ["DecoupledMixup"]


class DecoupledMixup(Loss):
    r"""Decoupled mixup, DM(CE) (Liu et al. 2023, `Harnessing Hard Mixed Samples with Decoupled
    Regularizer <https://arxiv.org/abs/2203.10761>`_, NeurIPS 2023): for logits :math:`z` of a
    sample mixed from classes :math:`a` and :math:`b` with weight :math:`\lambda`, the mixed
    cross-entropy plus :math:`\eta` times a cross-entropy in which each mixed class is scored
    *without* the other in the softmax -- so a confident prediction of both classes (a hard
    mixed sample) is not penalised:

    .. math::
        \mathcal{L} = \underbrace{-\lambda \log \sigma(z)_a - (1 - \lambda) \log \sigma(z)_b}_{\text{mixup CE}}
            \; - \; \eta \Big[\lambda \log \frac{e^{z_a}}{\sum_{c \ne b} e^{z_c}}
            + (1 - \lambda) \log \frac{e^{z_b}}{\sum_{c \ne a} e^{z_c}}\Big]

    averaged over the batch. This is the authors' OpenMixup form (``soft_mix_cross_entropy``
    with ``use_mix_decouple=True``, ``eta_weight=dict(eta=0.1, mode="both")`` and the default
    linear ``lam`` rescaling: the decoupled term of each class weighted by its
    :math:`\lambda`). ``eta_mode="less"`` keeps only the decoupled term of the class whose
    :math:`\lambda` is below ``eta_threshold`` (``"more"``: above it), as OpenMixup's ``mode``.
    A row whose two classes coincide (:math:`a = b`) is plain cross-entropy, as in OpenMixup.

    Args:
        eta: :math:`\eta \ge 0` (default: ``0.1``, the authors' CIFAR configuration).
        eta_mode: ``"both"``, ``"less"`` or ``"more"`` (default: ``"both"``).
        eta_threshold: the :math:`\lambda` threshold of ``"less"`` / ``"more"`` (default: ``0.5``).

    Shapes:
        logits: ``(N, C)``; labels_a, labels_b: ``(N,)`` integers; lam: ``(N,)`` or a number in
        ``[0, 1]`` (what :class:`~concord.augment.mixup.Mixup` / ``CutMix`` return). Output: scalar.
    """

    registry_name = "decoupled_mixup"
    invariances = ("permutation",)
    half_precision = ("bf16", "fp16")

    def __init__(
        self,
        *,
        eta: float = 0.1,
        eta_mode: Literal["both", "less", "more"] = "both",
        eta_threshold: float = 0.5,
    ) -> None:
        super().__init__()
        self.eta = check_positive("eta", eta, allow_zero=True)
        self.eta_mode = check_choice("eta_mode", eta_mode, ("both", "less", "more"))
        if isinstance(eta_threshold, bool) or not isinstance(eta_threshold, (int, float)) or not 0 <= eta_threshold <= 1:
            raise InputError(f"eta_threshold must lie in [0, 1], got {eta_threshold!r}")
        self.eta_threshold = float(eta_threshold)

    def forward(self, logits: Tensor, labels_a: Tensor, labels_b: Tensor, lam: Tensor | float) -> Tensor:
        check_embeddings("logits", logits)
        n, c = logits.shape
        if c < 3 and self.eta > 0:
            raise InputError(f"decoupled mixup needs at least 3 classes, got logits of shape {(n, c)}")
        a = check_labels("labels_a", labels_a, n)
        b = check_labels("labels_b", labels_b, n)
        for name, t in (("labels_a", a), ("labels_b", b)):
            if bool((t < 0).any()) or bool((t >= c).any()):
                raise InputError(f"{name} must lie in [0, {c}) (the number of logits)")
        z = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
        lam_t = check_finite("lam", torch.as_tensor(lam, device=z.device)).detach().to(z.dtype)
        lam_t = lam_t.expand(n) if lam_t.dim() == 0 else lam_t
        if lam_t.shape != (n,):
            raise InputError(f"lam must be a number or have shape ({n},), got {tuple(lam_t.shape)}")
        if bool((lam_t < 0).any()) or bool((lam_t > 1).any()):
            raise InputError("lam must lie in [0, 1]")
        log_p = torch.log_softmax(z, dim=1)
        rows = torch.arange(n, device=z.device)
        ce = -(lam_t * log_p[rows, a] + (1 - lam_t) * log_p[rows, b])
        if self.eta == 0:
            return ce.mean()
        mixed = a != b
        # each class scored against every class but the other mixed one
        without_b = torch.log_softmax(z.scatter(1, b[:, None], float("-inf")), dim=1)[rows, a]
        without_a = torch.log_softmax(z.scatter(1, a[:, None], float("-inf")), dim=1)[rows, b]
        w_a, w_b = self._eta_weights(lam_t)
        dm = -(w_a * without_b + w_b * without_a)
        return (ce + self.eta * torch.where(mixed, dm, torch.zeros_like(dm))).mean()

    def _eta_weights(self, lam: Tensor) -> tuple[Tensor, Tensor]:
        if self.eta_mode == "both":
            return lam, 1 - lam
        below = lam < self.eta_threshold
        keep_a = below if self.eta_mode == "less" else ~below
        zero = torch.zeros_like(lam)
        return torch.where(keep_a, lam, zero), torch.where(keep_a, zero, 1 - lam)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z = torch.randn(6, 5, generator=generator)
        a = torch.tensor([0, 1, 2, 3, 4, 0])
        b = torch.tensor([1, 1, 4, 0, 2, 3])
        lam = torch.rand(6, generator=generator)
        return [
            LossExample(init={}, args=(z, a, b, lam), grad_args=(0,)),
            LossExample(init={"eta": 1.0, "eta_mode": "less"}, args=(z, a, b, lam), grad_args=(0,)),
            LossExample(init={"eta": 0.5, "eta_mode": "more", "eta_threshold": 0.3},
                        args=(z, a, b, 0.7), grad_args=(0,)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 5, generator=generator)
        y = torch.tensor([0, 1, 2, 3])
        return [
            BadInput({"eta": -0.1}, None, "eta"),
            BadInput({"eta_mode": "all"}, None, "eta_mode"),
            BadInput({"eta_threshold": 2.0}, None, "eta_threshold"),
            BadInput({}, (z, y, torch.tensor([0, 1, 2, 5]), 0.5), r"labels_b must lie in \[0, 5\)"),
            BadInput({}, (z, y, y, torch.tensor([0.5, 1.5, 0.2, 0.1])), r"lam must lie in \[0, 1\]"),
            BadInput({}, (z, y, y, torch.ones(3)), r"lam must be a number or have shape \(4,\)"),
            BadInput({}, (z[:, :2], y % 2, y % 2, 0.5), "at least 3 classes"),
        ]
