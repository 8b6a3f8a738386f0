"""CACR: contrastive attraction and contrastive repulsion."""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.row_blocks import check_block_size, row_blocks
from concord.validation import check_embeddings, check_positive

__all__ = ["CACR"]


class CACR(Loss):
    r"""CACR (Zheng et al. 2023, `Contrastive Attraction and Contrastive Repulsion for
    Representation Learning <https://arxiv.org/abs/2105.03746>`_, TMLR): instead of one softmax
    over a positive and many negatives, the positives of a query are contrasted *among
    themselves* (a softmax that weights distant positives more, which the query then attracts
    harder) and so are its negatives (closer negatives weigh more, and are repelled harder):

    .. math::
        \mathcal{L}_{CA} = \mathbb{E}_{x}\, \mathbb{E}_{x^+ \sim \pi^+(\cdot \mid x)}
            \big[\alpha \lVert f(x) - f(x^+) \rVert^2\big],\qquad
        \pi^+(x^+ \mid x) \propto e^{\tau^+ \lVert f(x) - f(x^+) \rVert^2} p(x^+ \mid x),

    .. math::
        \mathcal{L}_{CR} = \mathbb{E}_{x}\, \mathbb{E}_{x^- \sim \pi^-(\cdot \mid x)}
            \big[-\beta \lVert f(x) - f(x^-) \rVert^2\big],\qquad
        \pi^-(x^- \mid x) \propto e^{-\tau^- \lVert f(x) - f(x^-) \rVert^2} p(x^-),

    :math:`\mathcal{L} = \mathcal{L}_{CA} + \mathcal{L}_{CR}` (the CA and CR objectives of the
    paper's Sec. 3 with the squared Euclidean point-to-point cost, and its mini-batch
    estimators). The conditional distributions :math:`\pi^\pm` are estimated over the batch by
    within-group softmaxes, exactly as the authors' ``our_loss1`` / ``our_loss2`` (CIFAR / STL
    code): with :math:`M` views :math:`z^{(1)}, \dots, z^{(M)}` of each sample,

    * attraction: each view :math:`z^{(m)}_i` weights the other :math:`M - 1` views of sample
      :math:`i` by :math:`\mathrm{softmax}(\tau^+ d^2)` and attracts them with cost
      :math:`\alpha d^2`, averaged over samples and over the :math:`M` query views;
    * repulsion: for each pair of views :math:`m < m'`, query :math:`z^{(m)}_i` weights the
      :math:`N - 1` other samples' view :math:`z^{(m')}_j` by :math:`\mathrm{softmax}(-\tau^- d^2)`
      and repels them with cost :math:`-\beta d^2`, averaged over samples and over the
      :math:`M(M-1)/2` pairs.

    The softmax weights carry gradients in the authors' CIFAR code (``detach_weights=False``);
    their MoCo-based ImageNet code computes them without gradient (``detach_weights=True``).
    Embeddings are L2-normalised as the authors' encoders do. The repulsion runs in checkpointed
    query blocks (``block_size``); with ``gather=True`` its negatives are the global batch's and
    both means run over every process's samples.

    Args:
        tau_positive: :math:`\tau^+ \ge 0` (default: ``1.0``, the authors').
        tau_negative: :math:`\tau^- \ge 0` (default: ``1.0``).
        alpha: :math:`\alpha > 0` (default: ``1.0``).
        beta: :math:`\beta > 0` (default: ``1.0``).
        detach_weights: compute :math:`\pi^\pm` without gradient (default: ``False``).
        gather: negatives from every process (default: ``False``).
        block_size: queries per checkpointed block of the repulsion (default: ``None``).

    Shapes:
        views: ``(N, M, D)``, ``M >= 2`` views of ``N`` samples. Output: scalar.
    """

    registry_name = "cacr"
    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(
        self,
        *,
        tau_positive: float = 1.0,
        tau_negative: float = 1.0,
        alpha: float = 1.0,
        beta: float = 1.0,
        detach_weights: bool = False,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__()
        self.tau_positive = check_positive("tau_positive", tau_positive, allow_zero=True)
        self.tau_negative = check_positive("tau_negative", tau_negative, allow_zero=True)
        self.alpha = check_positive("alpha", alpha)
        self.beta = check_positive("beta", beta)
        self.detach_weights = bool(detach_weights)
        self.gather = bool(gather)
        self.block_size = check_block_size(block_size)

    def forward(self, views: Tensor) -> Tensor:
        check_embeddings("views", views, ndim=3)
        n, m, _ = views.shape
        if m < 2:
            raise InputError(f"CACR needs at least 2 views per sample, got shape {tuple(views.shape)}")
        dtype = torch.promote_types(torch.float32, views.dtype)
        z = nn.functional.normalize(views.to(dtype), dim=-1)
        attraction = self._attraction(z)  # (N,)
        g = distributed.gather(z) if self.gather else None
        keys, offset = (g.tensor, g.offset) if g is not None else (z, 0)
        if int(keys.shape[0]) < 2:
            raise InputError("CACR's repulsion needs at least 2 samples in the (global) batch")
        pairs = list(itertools.combinations(range(m), 2))
        repulsion = sum(self._repulsion(z[:, a], keys[:, b], offset) for a, b in pairs) / len(pairs)
        if self.gather:
            return distributed.global_mean((attraction + repulsion).sum(), n)
        return (attraction + repulsion).mean()

    def _weights(self, logits: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is not None:
            logits = logits.masked_fill(~mask, float("-inf"))
        w = torch.softmax(logits, dim=-1)
        return w.detach() if self.detach_weights else w

    def _attraction(self, z: Tensor) -> Tensor:
        """Per sample: mean over query views of sum over the other views of w+ alpha d^2."""
        m = int(z.shape[1])
        d2 = (z[:, :, None, :] - z[:, None, :, :]).pow(2).sum(dim=-1)  # (N, M, M)
        others = ~torch.eye(m, dtype=torch.bool, device=z.device)
        w = self._weights(self.tau_positive * d2, others.expand_as(d2))
        return (w * self.alpha * d2).sum(dim=-1).mean(dim=-1)

    def _repulsion(self, q: Tensor, keys: Tensor, offset: int) -> Tensor:
        """Per query: sum over the other samples of w- (-beta d^2), in blocks."""
        n_keys = int(keys.shape[0])

        def block(i0: int, i1: int, qb: Tensor, k: Tensor) -> Tensor:
            d2 = (2 - 2 * qb @ k.T).clamp_min(0)  # unit vectors: |a - b|^2 = 2 - 2 a.b
            cols = torch.arange(n_keys, device=qb.device)
            not_self = cols[None, :] != (offset + torch.arange(i0, i1, device=qb.device))[:, None]
            w = self._weights(-self.tau_negative * d2, not_self)
            return (w * (-self.beta * d2)).masked_fill(~not_self, 0).sum(dim=-1)

        (out,) = row_blocks(block, q, keys, block_size=self.block_size)
        return out

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        v = torch.randn(6, 3, 4, generator=generator)
        return [
            LossExample(init={}, args=(v,)),
            LossExample(init={"tau_positive": 2.0, "tau_negative": 0.5, "beta": 2.0, "block_size": 4},
                        args=(v[:, :2],)),
            LossExample(init={"detach_weights": True}, args=(v,)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        v = torch.randn(4, 2, 3, generator=generator)
        return [
            BadInput({"alpha": 0.0}, None, "alpha"),
            BadInput({"tau_negative": -1.0}, None, "tau_negative"),
            BadInput({}, (v[:, :1],), "at least 2 views"),
            BadInput({}, (v[:1],), "at least 2 samples"),
            BadInput({}, (v[:, 0],), "3-D"),
        ]
