"""GroCo: self-supervised learning by sorting, with group ordering constraints."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.sorting_network import soft_sort
from concord.validation import check_choice, check_embeddings, check_positive

__all__ = ["GroCo"]


class GroCo(Loss):
    r"""GroCo (Shvetsova et al. 2023, `Learning by Sorting: Self-supervised Learning with Group
    Ordering Constraints <https://arxiv.org/abs/2301.02009>`_, ICCV 2023): for each anchor the
    similarities to its positives and to its :math:`k` most similar negatives are sorted by a
    differentiable sorting network (:func:`concord.losses.sorting_network.soft_sort`), and the
    loss asks that the *group* of positives ranks above the group of negatives -- no order is
    imposed within a group:

    .. math::
        \mathcal{L} = \mathrm{BCE}\Big(\sum_{p \in \text{pos. ranks}} P_{ip},\ \mathbb{1}[i \in \mathcal{P}]\Big)

    averaged over the anchors' :math:`|\mathcal{P}| + k` compared elements, where
    :math:`P_{ip}` is the relaxed probability that element :math:`i` lands at ascending rank
    :math:`p`, the positive ranks are the top :math:`|\mathcal{P}|`, and the mis-ordered pairs
    are what makes it non-zero. As in the authors' code (``GroCo.compute_loss``), the BCE of
    the negative ranks is averaged in (it equals the positive one, :math:`P` being doubly
    stochastic), the inputs are pre-ordered (negatives ascending, then positives ascending), the
    Cauchy sigmoid is used with steepness 1, and the loss is the mean over the anchor views.

    Views: each view of a sample is an anchor in turn; its positives are the other *positive*
    views of the same sample (``positive_views``: the first views; with multi-crop only the
    full-resolution crops are positives, the authors' ``n_pos_augs``); its negatives are the
    *same* view of the other samples of the (global, with ``gather=True``) batch. With
    ``stop_gradient=True`` (the authors' default) positives and negatives are detached and only
    the anchor receives gradients.

    Args:
        top_k: negatives :math:`k` per anchor (default: ``10``).
        steepness: of the sorting network's sigmoid (default: ``1.0``).
        positive_views: how many leading views are positives (default: ``None``: all).
        stop_gradient: detach positives and negatives (default: ``True``).
        sigmoid: ``"cauchy"`` (default) or ``"logistic"``.
        gather: negatives from every process (default: ``False``).

    Shapes:
        views: ``(N, V, D)``, ``V >= 2``. Output: scalar.
    """

    registry_name = "groco"
    invariances = ("permutation", "scale")

    def __init__(
        self,
        *,
        top_k: int = 10,
        steepness: float = 1.0,
        positive_views: int | None = None,
        stop_gradient: bool = True,
        sigmoid: Literal["cauchy", "logistic"] = "cauchy",
        gather: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InputError(f"top_k must be an integer >= 1, got {top_k!r}")
        if positive_views is not None and (
            isinstance(positive_views, bool) or not isinstance(positive_views, int) or positive_views < 2
        ):
            raise InputError(f"positive_views must be None or an integer >= 2, got {positive_views!r}")
        self.top_k = top_k
        self.steepness = check_positive("steepness", steepness)
        self.positive_views = positive_views
        self.stop_gradient = bool(stop_gradient)
        self.sigmoid = check_choice("sigmoid", sigmoid, ("cauchy", "logistic"))
        self.gather = bool(gather)

    def forward(self, views: Tensor) -> Tensor:
        check_embeddings("views", views, ndim=3)
        v = int(views.shape[1])
        n_pos = v if self.positive_views is None else self.positive_views
        if v < 2 or n_pos > v:
            raise InputError(f"need at least 2 views and positive_views <= views, got {v} views "
                             f"and positive_views={self.positive_views}")
        dtype = torch.promote_types(torch.float32, views.dtype)
        z = nn.functional.normalize(views.to(dtype), dim=-1)
        total = z.new_zeros(())
        for anchor_view in range(v):  # the authors' loop over anchors, then / n_augs
            positives = [z[:, p] for p in range(n_pos) if p != anchor_view]
            total = total + self._anchor_view(z[:, anchor_view], positives)
        return total / v

    def _anchor_view(self, anchor: Tensor, positives: list[Tensor]) -> Tensor:
        """BCE of the group ordering, averaged over this view's anchors and compared elements."""
        detach = self.stop_gradient
        pos = torch.stack([(anchor * (p.detach() if detach else p)).sum(-1) for p in positives], dim=1)
        if self.gather:
            g = (distributed.gather_no_grad(anchor) if detach else distributed.gather(anchor))
            keys, offset = g.tensor, g.offset
        else:
            keys, offset = (anchor.detach() if detach else anchor), 0
        n, n_keys = int(anchor.shape[0]), int(keys.shape[0])
        if n_keys - 1 < self.top_k:
            raise InputError(f"top_k={self.top_k} negatives need a (global) batch of at least "
                             f"{self.top_k + 1} samples, got {n_keys}")
        neg = anchor @ keys.T
        own = offset + torch.arange(n, device=anchor.device)
        neg = neg.masked_fill(own[:, None] == torch.arange(n_keys, device=anchor.device)[None, :], float("-inf"))
        neg = torch.topk(neg, self.top_k, dim=1).values.flip(1)  # ascending
        pos = torch.sort(pos, dim=1).values
        sims = torch.cat([neg, pos], dim=1)
        _, perm = soft_sort(sims, steepness=self.steepness, sigmoid=self.sigmoid)
        k = self.top_k
        in_neg_ranks = perm[:, :, :k].sum(dim=2).clamp(0, 1)
        in_pos_ranks = perm[:, :, k:].sum(dim=2).clamp(0, 1)
        is_pos = torch.zeros_like(in_pos_ranks)
        is_pos[:, k:] = 1
        bce = nn.functional.binary_cross_entropy
        per_element = (bce(in_pos_ranks, is_pos, reduction="none")
                       + bce(in_neg_ranks, 1 - is_pos, reduction="none")) / 2
        if self.gather:
            return distributed.global_mean(per_element.sum(), per_element.numel())
        return per_element.mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        v = torch.randn(8, 2, 5, generator=generator)
        multi = torch.randn(7, 4, 3, generator=generator)
        return [
            LossExample(init={"top_k": 3}, args=(v,)),
            LossExample(init={"top_k": 4, "positive_views": 2, "steepness": 2.0}, args=(multi,)),
            LossExample(init={"top_k": 2, "stop_gradient": False, "sigmoid": "logistic"}, args=(multi,)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        v = torch.randn(4, 2, 3, generator=generator)
        return [
            BadInput({"top_k": 0}, None, "top_k"),
            BadInput({"positive_views": 1}, None, "positive_views"),
            BadInput({"steepness": 0.0}, None, "steepness"),
            BadInput({"top_k": 4}, (v,), "at least 5 samples"),
            BadInput({"top_k": 1, "positive_views": 3}, (v,), "positive_views <= views"),
        ]
