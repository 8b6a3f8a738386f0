"""MCLRec's contrastive regularizer R."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.two_view import check_two_views, two_view_batch
from concord.validation import check_positive
from concord_sequence.losses.batch_mean import batch_mean
from concord_sequence.losses.similarity import check_similarity

__all__ = ["MarginRegularizer", "margin_terms"]


def margin_terms(query: Tensor, key: Tensor, positive_index: Tensor, self_index: Tensor,
                 temperature: float) -> tuple[Tensor, Tensor, int]:
    """Per-anchor sums of the two hinge terms of R, and the number of negatives per anchor."""
    s = query @ key.T / temperature
    rows = torch.arange(s.shape[0], device=s.device)
    pos = s[rows, positive_index]
    neg_mask = torch.ones_like(s, dtype=torch.bool)
    neg_mask[rows, positive_index] = False
    neg_mask[rows, self_index] = False
    n_neg = int(s.shape[1]) - 2
    if n_neg < 1:
        raise InputError("the margin regularizer needs at least 2 samples in the (global) batch")
    hardest_neg = s.masked_fill(~neg_mask, float("-inf")).max(dim=1).values
    # with one positive per anchor, the hardest (least similar) positive is that positive
    low = torch.minimum(pos, hardest_neg)
    high = torch.maximum(pos, hardest_neg)
    first = (pos - low).clamp_min(0)
    second = ((high[:, None] - s).clamp_min(0) * neg_mask).sum(dim=1)
    return first, second, n_neg


class MarginRegularizer(Loss):
    r"""MCLRec's contrastive regularization :math:`\mathcal{R}` (Qin et al. 2023,
    `Meta-optimized Contrastive Learning for Sequential Recommendation
    <https://arxiv.org/abs/2304.07763>`_, Sec. 3.5), as the official code computes it
    (``meta_contrast_rl``): over the 2N-sample layout of two views, with similarities
    :math:`s_{ij} = \mathrm{sim}(z_i, z_j)/\tau`, for anchor :math:`i` with positive :math:`p`
    and negatives :math:`N(i)` (the other :math:`2N - 2`),

    .. math::
        s^+_i = \min_{p \in P(i)} s_{ip}, \quad s^-_i = \max_{n \in N(i)} s_{in},\quad
        \mathcal{R} = \frac{1}{2N}\sum_i \big[s^+_i - \min(s^+_i, s^-_i)\big]_+
          + \frac{1}{2N(2N-2)} \sum_i \sum_{n \in N(i)} \big[\max(s^+_i, s^-_i) - s_{in}\big]_+

    i.e. the hardest positive is pulled down to the hardest negative and every negative up to the
    larger of the two: a margin between the hardest positive and negative similarities that keeps
    the learnable augmenters from making views trivially similar ("too similar contrastive
    pairs"). :math:`\mathcal{R} = 0` exactly when the hardest negative is at least as similar as
    the positive and every negative equals it.

    Args:
        temperature: :math:`\tau` (default: ``1.0``).
        similarity: ``"dot"`` or ``"cos"`` (default: ``"dot"``, the official code's).
        gather: anchors against every process's batch, averaged over the global batch
            (default: ``False``: this process's batch alone, as if it ran by itself, also under
            ``torchrun``).

    Shapes:
        z1, z2: ``(N, D)``. Output: scalar.
    """

    registry_name = "sequence.margin_regularizer"
    invariances = ("permutation",)

    def __init__(self, *, temperature: float = 1.0, similarity: str = "dot", gather: bool = False) -> None:
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.similarity = check_similarity(similarity)
        self.gather = bool(gather)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        check_two_views(z1, z2)
        if self.similarity == "cos":
            z1, z2 = torch.nn.functional.normalize(z1, dim=-1), torch.nn.functional.normalize(z2, dim=-1)
        if z1.dtype in (torch.float16, torch.bfloat16):
            z1, z2 = z1.float(), z2.float()
        b = two_view_batch(z1, z2, gather=self.gather)
        first, second, n_neg = margin_terms(b.query, b.key, b.positive_index, b.self_index, self.temperature)
        n = first.shape[0]
        return (batch_mean(first.sum(), n, gather=self.gather)
                + batch_mean(second.sum(), n * n_neg, gather=self.gather))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z1 = torch.randn(6, 4, generator=generator)
        z2 = z1 + 0.3 * torch.randn(6, 4, generator=generator)
        return [LossExample(init={}, args=(z1, z2)),
                LossExample(init={"similarity": "cos", "temperature": 0.5}, args=(z1, z2))]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [BadInput({"similarity": "x"}, None, "similarity"), BadInput({}, (z[:1], z[:1]), "at least 2")]
