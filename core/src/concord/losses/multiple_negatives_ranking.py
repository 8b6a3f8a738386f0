"""Multiple negatives ranking loss: in-batch softmax ranking with optional hard negatives."""

from __future__ import annotations

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import contrast_terms
from concord.validation import check_embeddings, check_positive, check_same_rows

__all__ = ["MultipleNegativesRanking"]


class MultipleNegativesRanking(ContrastiveLoss):
    r"""The multiple negatives ranking loss of sentence-embedding trainers (Henderson et al. 2017,
    `Efficient Natural Language Response Suggestion for Smart Reply
    <https://arxiv.org/abs/1705.00652>`_, Sec. 4.4; sentence-transformers'
    ``MultipleNegativesRankingLoss``; the contrastive loss of "CL + MoE precise embeddings"):
    each anchor :math:`a_i` must rank its positive :math:`p_i` first among every candidate of
    the batch -- all positives and all hard negatives :math:`n_{j,h}`:

    .. math::
        \mathcal{L} = -\frac{1}{N} \sum_{i=1}^{N} \log
            \frac{e^{\lambda \cos(a_i, p_i)}}
                 {\sum_{j} e^{\lambda \cos(a_i, p_j)} + \sum_{j, h} e^{\lambda \cos(a_i, n_{j,h})}}

    with scale :math:`\lambda` (the inverse temperature). Equal to sentence-transformers'
    ``MultipleNegativesRankingLoss`` on the same embeddings (its default ``query_to_doc``
    direction; tested), computed by the core's contrast engine. With ``gather=True`` the
    candidates (positives and hard negatives, with gradients) come from every process, as
    sentence-transformers' ``gather_across_devices``.

    Args:
        scale: :math:`\lambda > 0` (default: ``20.0``, sentence-transformers').
        gather: candidates from every process (default: ``False``).
        block_size: anchors per checkpointed block (default: ``None``).

    Shapes:
        anchors, positives: ``(N, D)``; negatives: ``(N, D)`` or ``(N, H, D)`` (``H`` hard
        negatives per anchor, every one a candidate for every anchor). Output: scalar.
    """

    registry_name = "multiple_negatives_ranking"

    def __init__(self, *, scale: float = 20.0, gather: bool = False, block_size: int | None = None) -> None:
        scale = check_positive("scale", scale)
        super().__init__(
            temperature=1.0 / scale, learn_temperature=False, normalize=True, gather=gather,
            block_size=block_size, empty_positives="error",
        )
        self.scale = scale

    def forward(self, anchors: Tensor, positives: Tensor, negatives: Tensor | None = None) -> Tensor:
        check_embeddings("anchors", anchors)
        check_embeddings("positives", positives)
        check_same_rows(anchors=anchors, positives=positives)
        d = int(anchors.shape[1])
        candidates = [positives]
        if negatives is not None:
            check_embeddings("negatives", negatives, ndim=(2, 3))
            check_same_rows(anchors=anchors, negatives=negatives)
            negatives = negatives[:, None] if negatives.dim() == 2 else negatives
            candidates += list(negatives.unbind(dim=1))
        for c in candidates:
            if c.shape[-1] != d:
                raise InputError(f"embedding dimensions differ: anchors {d}, candidates {c.shape[-1]}")
        q = self.embed(anchors)
        offset = 0
        keys = []
        for c in candidates:
            e = self.embed(c)
            if self.gather:
                g = distributed.gather(e)
                e, offset = g.tensor, g.offset
            keys.append(e)
        local = offset + torch.arange(q.shape[0], device=q.device)
        terms = contrast_terms(q, torch.cat(keys), self.tau(), positive_index=local,
                               block_size=self.block_size)
        return self.reduce(terms)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        a = torch.randn(6, 5, generator=generator)
        p = a + 0.5 * torch.randn(6, 5, generator=generator)
        n = torch.randn(6, 2, 5, generator=generator)
        return [
            LossExample(init={}, args=(a, p)),
            LossExample(init={"scale": 10.0}, args=(a, p, n[:, 0])),
            LossExample(init={"block_size": 4}, args=(a, p, n)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        a = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"scale": 0.0}, None, "scale"),
            BadInput({}, (a, a[:3]), "batch sizes differ"),
            BadInput({}, (a, a, torch.randn(3, 2, 3)), "batch sizes differ"),
            BadInput({}, (a, a, torch.randn(4, 2, 5)), "dimensions differ"),
        ]
