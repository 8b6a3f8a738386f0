"""Feature transformation: positive extrapolation and negative interpolation in feature space."""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor, nn

from concord.augment.base import Augmentation
from concord.augment.mixing import check_alpha, draw_partners, sample_beta
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_choice, check_embeddings

__all__ = ["FeatureTransformation"]


class FeatureTransformation(Augmentation):
    r"""Feature transformation (Zhu et al. 2021, `Improving Contrastive Learning by Visualizing
    Feature Transformation <https://arxiv.org/abs/2108.02982>`_, ICCV 2021, Sec. 4): harder
    positives by *extrapolating* the pair away from each other, more diverse negatives by
    *interpolating* memory-queue negatives,

    .. math::
        \hat{q} = \lambda^+ q + (1 - \lambda^+) k,\quad
        \hat{k} = \lambda^+ k + (1 - \lambda^+) q,\qquad \lambda^+ \sim \mathrm{Beta}(\alpha^+, \alpha^+) + 1,

    .. math::
        \hat{n}_i = \lambda^- n_i + (1 - \lambda^-) n_{\pi(i)},\qquad
        \lambda^- \sim \mathrm{Beta}(\alpha^-, \alpha^-),

    with :math:`\pi` a random permutation of the negatives. :math:`\lambda^+ \in [1, 2]` keeps
    :math:`\hat{q} + \hat{k} = q + k` and stretches the pair: :math:`\hat{q} - \hat{k} =
    (2\lambda^+ - 1)(q - k)`. As in the authors' code (``RGBMoCo_dropmix_norm`` with
    ``mix_target="posneg"``, ``expolation_mask``): one :math:`\lambda` per batch
    (``mask="scalar"``, their ``dim_mask="none"``) or one per entry (``mask="element"``), and
    optionally renormalised to unit length afterwards (``renormalize``, their ``postmix_norm``).
    Gradients flow through the transformation (the authors detach the momentum key ``k``
    before mixing; a MoCo key has no gradient anyway).

    Args:
        positive_alpha: :math:`\alpha^+` (default: ``2.0``, the paper's).
        negative_alpha: :math:`\alpha^-` (default: ``1.6``, the paper's).
        mask: ``"scalar"`` or ``"element"`` (default: ``"scalar"``).
        renormalize: L2-normalise the transformed features (default: ``False``).

    Shapes:
        input: ``(query, key)`` or ``(query, key, negatives)``, ``query, key: (N, D)``,
        ``negatives: (K, D)``; output: the same tuple, transformed.
    """

    registry_name = "feature_transformation"

    def __init__(
        self,
        *,
        positive_alpha: float = 2.0,
        negative_alpha: float = 1.6,
        mask: Literal["scalar", "element"] = "scalar",
        renormalize: bool = False,
    ) -> None:
        self.positive_alpha = check_alpha(positive_alpha, "positive_alpha")
        self.negative_alpha = check_alpha(negative_alpha, "negative_alpha")
        self.mask = check_choice("mask", mask, ("scalar", "element"))
        self.renormalize = bool(renormalize)

    def _lam(self, alpha: float, like: Tensor, generator: torch.Generator | None) -> Tensor:
        n = 1 if self.mask == "scalar" else like.numel()
        lam = sample_beta(alpha, n, generator).to(like.device, like.dtype)
        return lam.reshape(()) if self.mask == "scalar" else lam.reshape(like.shape)

    def apply(self, x: Any, generator: torch.Generator | None) -> tuple[Tensor, ...]:
        if not isinstance(x, tuple) or len(x) not in (2, 3):
            raise InputError("expected a (query, key) or (query, key, negatives) tuple, got "
                             f"{type(x).__name__}" + (f" of length {len(x)}" if isinstance(x, tuple) else ""))
        q = check_embeddings("query", x[0])
        k = check_embeddings("key", x[1])
        if q.shape != k.shape:
            raise InputError(f"query and key shapes differ: {tuple(q.shape)} vs {tuple(k.shape)}")
        lam = 1 + self._lam(self.positive_alpha, q, generator)
        out = [lam * q + (1 - lam) * k, lam * k + (1 - lam) * q]
        if len(x) == 3:
            neg = check_embeddings("negatives", x[2])
            if neg.shape[1] != q.shape[1]:
                raise InputError(f"negatives have dimension {neg.shape[1]}, query {q.shape[1]}")
            lam_n = self._lam(self.negative_alpha, neg, generator)
            partner = draw_partners(int(neg.shape[0]), generator).to(neg.device)
            out.append(lam_n * neg + (1 - lam_n) * neg[partner])
        if self.renormalize:
            out = [nn.functional.normalize(t, dim=-1) for t in out]
        return tuple(out)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        q = torch.randn(5, 4, generator=generator)
        k = q + 0.3 * torch.randn(5, 4, generator=generator)
        neg = torch.randn(7, 4, generator=generator)

        def stretched(inp: tuple, out: tuple) -> None:
            torch.testing.assert_close(out[0] + out[1], inp[0] + inp[1])
            assert float((out[0] - out[1]).norm()) >= float((inp[0] - inp[1]).norm()) - 1e-6

        return [
            AugmentationExample(init={}, input=(q, k, neg), check=stretched),
            AugmentationExample(init={"mask": "element", "positive_alpha": 1.0}, input=(q, k)),
            AugmentationExample(init={"renormalize": True}, input=(q, k, neg)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        q = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"positive_alpha": 0.0}, None, "positive_alpha"),
            BadInput({"mask": "row"}, None, "mask"),
            BadInput({}, (q,), "tuple"),
            BadInput({}, ((q, q[:2]),), "shapes differ"),
            BadInput({}, ((q, q, torch.randn(5, 2)),), "dimension 2"),
        ]
