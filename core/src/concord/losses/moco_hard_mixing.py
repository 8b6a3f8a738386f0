"""MoCHi: hard negative mixing for contrastive learning."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import ContrastTerms, contrast_terms
from concord.losses.row_blocks import row_blocks
from concord.queue import MemoryQueue
from concord.validation import check_embeddings, check_same_rows

__all__ = ["MixingDraws", "MoCHi"]


@dataclass(frozen=True)
class MixingDraws:
    """The random part of MoCHi for a batch of queries: which of each query's hardest negatives
    are mixed, and with what coefficients. Rows are queries (of the global batch); the indices
    point into the query's own list of hardest negatives (0 = the hardest).

    Shapes: ``first, second, alpha``: ``(N, s)``; ``partner, beta``: ``(N, s')``.
    """

    first: Tensor
    second: Tensor
    alpha: Tensor
    partner: Tensor
    beta: Tensor

    def rows(self, start: int, stop: int) -> MixingDraws:
        return MixingDraws(*(t[start:stop] for t in (self.first, self.second, self.alpha,
                                                     self.partner, self.beta)))


class MoCHi(ContrastiveLoss):
    r"""MoCHi (Kalantidis et al. 2020, `Hard Negative Mixing for Contrastive Learning
    <https://arxiv.org/abs/2010.01028>`_, Sec. 4): MoCo's InfoNCE whose negatives are extended,
    for each query :math:`q`, with synthetic hard negatives mixed from its :math:`N` hardest
    memory-queue negatives :math:`\tilde{Q}^N = \{n_1, \dots, n_N\}` (highest :math:`q^\top n`):

    .. math::
        h_k = \frac{\tilde{h}_k}{\lVert \tilde{h}_k \rVert_2},\quad
        \tilde{h}_k = \alpha_k n_i + (1 - \alpha_k) n_j,\quad
        n_i, n_j \in \tilde{Q}^N,\ \alpha_k \sim U(0, 1),\quad k = 1..s \quad \text{(Eq. 4)}

    .. math::
        h'_k = \frac{\tilde{h}'_k}{\lVert \tilde{h}'_k \rVert_2},\quad
        \tilde{h}'_k = \beta_k q + (1 - \beta_k) n_j,\quad
        n_j \in \tilde{Q}^N,\ \beta_k \sim U(0, 0.5),\quad k = 1..s' \quad \text{(Eq. 5)}

    The synthetic points are detached (no gradient flows into them; the query still gets the
    gradient of :math:`q^\top h / \tau`) and are negatives of their own query only:

    .. math::
        \mathcal{L}_q = -\log \frac{e^{q^\top k / \tau}}{e^{q^\top k / \tau}
            + \sum_{n \in Q} e^{q^\top n / \tau} + \sum_{k=1}^{s} e^{q^\top h_k / \tau}
            + \sum_{k=1}^{s'} e^{q^\top h'_k / \tau}}

    The queue and key part is the core's contrast engine (:func:`contrast_terms`, as
    :class:`~concord.losses.info_nce.InfoNCE` with ``negatives=``); the synthetic part adds
    :math:`\log(1 + e^{\mathrm{lse}_{syn} - \mathrm{lse}})` per query. Both are computed in
    query blocks (``block_size``), the synthetic one also checkpointed: memory
    ``O(block x (K + s + s') x D)`` at most, not ``O(N (s + s') D)``. Finding the hardest
    negatives is one more (no-grad) query-by-queue product per block.

    Choices the paper leaves open, and departures:

    * :math:`n_i, n_j` are drawn uniformly and independently from :math:`\tilde{Q}^N` (so
      :math:`i = j` is possible and then :math:`h_k = n_i`); with fewer than :math:`N` keys in
      the queue all of them are the hardest; with an empty queue no point is synthesised.
    * As in concord's InfoNCE, the other keys of the (global) batch are negatives too; MoCo v2
      contrasts with the queue alone (with a 65,536-key queue the difference is the batch's
      :math:`B - 1` fresh keys). The queue is filled by the caller after the step
      (``queue.enqueue(key)``), as in MoCo.
    * The draws come from ``generator`` (default: torch's global generator), made for the
      *global* batch and sliced, so with ``gather=True`` and equally seeded generators on every
      process each query gets the same synthetic negatives as in one process (tested).

    Args:
        temperature: :math:`\tau` (default: ``0.2``, MoCo v2's).
        n_hardest: :math:`N` (default: ``1024``).
        n_mix: :math:`s`, mixtures of two hard negatives (default: ``1024``).
        n_query_mix: :math:`s'`, mixtures of the query and a hard negative (default: ``128``);
            the defaults are the paper's MoCHi (1024, 1024, 128).
        learn_temperature, normalize, gather, block_size: see
            :class:`~concord.losses.base.ContrastiveLoss`.

    Shapes:
        query, key: ``(B, D)``; negatives: ``(K, D)`` or a :class:`MemoryQueue`. Output: scalar.
    """

    registry_name = "moco_hard_mixing"
    invariances = ("scale",)  # random draws are per row: a shuffled batch mixes differently

    def __init__(
        self,
        *,
        temperature: float = 0.2,
        n_hardest: int = 1024,
        n_mix: int = 1024,
        n_query_mix: int = 128,
        learn_temperature: bool = False,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=learn_temperature, normalize=normalize,
            gather=gather, block_size=block_size, empty_positives="error",
        )
        for name, value, low in (("n_hardest", n_hardest, 1), ("n_mix", n_mix, 0),
                                 ("n_query_mix", n_query_mix, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
        self.n_hardest, self.n_mix, self.n_query_mix = n_hardest, n_mix, n_query_mix

    def draw(self, n_queries: int, n_candidates: int, generator: torch.Generator | None = None
             ) -> MixingDraws:
        """The draws for ``n_queries`` queries with ``n_candidates`` hardest negatives each, in
        the order :meth:`forward` makes them."""
        gen_device = generator.device if generator is not None else torch.device("cpu")

        def ints(cols: int) -> Tensor:
            return torch.randint(0, n_candidates, (n_queries, cols), generator=generator,
                                 device=gen_device)

        first, second = ints(self.n_mix), ints(self.n_mix)
        alpha = torch.rand((n_queries, self.n_mix), generator=generator, device=gen_device)
        partner = ints(self.n_query_mix)
        beta = 0.5 * torch.rand((n_queries, self.n_query_mix), generator=generator, device=gen_device)
        return MixingDraws(first, second, alpha, partner, beta)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        *,
        negatives: Tensor | MemoryQueue,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        check_embeddings("query", query)
        check_embeddings("key", key)
        check_same_rows(query=query, key=key)
        if isinstance(negatives, MemoryQueue):
            negatives = negatives.keys()
        check_embeddings("negatives", negatives, min_rows=0)
        for name, t in (("key", key), ("negatives", negatives)):
            if t.shape[1] != query.shape[1]:
                raise InputError(f"{name} has dimension {t.shape[1]}, query {query.shape[1]}")
        q = self.embed(query)
        g = distributed.gather(self.embed(key)) if self.gather else None
        keys = g.tensor if g is not None else self.embed(key)
        offset, n_global = (g.offset, int(g.tensor.shape[0])) if g is not None else (0, int(q.shape[0]))
        neg = self.embed(negatives.detach()).to(keys.dtype)
        local = offset + torch.arange(q.shape[0], device=q.device)
        tau = self.tau()
        terms = contrast_terms(
            q, torch.cat([keys, neg]), tau, positive_index=local, block_size=self.block_size
        )
        n_candidates = min(self.n_hardest, int(neg.shape[0]))
        if n_candidates == 0 or self.n_mix + self.n_query_mix == 0:
            return self.reduce(terms)
        draws = self.draw(n_global, n_candidates, generator).rows(offset, offset + int(q.shape[0]))
        draws = MixingDraws(*(t.to(q.device) for t in (draws.first, draws.second, draws.alpha,
                                                      draws.partner, draws.beta)))
        pos_logit = (q * keys[local]).sum(dim=1) / tau
        lse_keys = terms.loss + pos_logit
        (lse_syn,) = row_blocks(
            lambda i0, i1, q_blk, n: self._synthetic_lse(q_blk, n, tau, draws.rows(i0, i1), n_candidates),
            q, neg, block_size=self.block_size,
        )
        loss = torch.logaddexp(lse_keys, lse_syn) - pos_logit
        return self.reduce(ContrastTerms(loss, terms.valid))

    @staticmethod
    def _synthetic_lse(q: Tensor, neg: Tensor, tau: Tensor | float, d: MixingDraws, n_candidates: int
                       ) -> Tensor:
        """log-sum-exp of one query block against its own s + s' synthetic negatives."""
        with torch.no_grad():
            q_det = q.detach()
            hardest = torch.topk(q_det @ neg.T, n_candidates, dim=1).indices  # (B, N)
            n_i = neg[torch.gather(hardest, 1, d.first)]  # (B, s, D)
            n_j = neg[torch.gather(hardest, 1, d.second)]
            a = d.alpha.to(neg.dtype)[..., None]
            mixed = nn.functional.normalize(a * n_i + (1 - a) * n_j, dim=-1)
            b = d.beta.to(neg.dtype)[..., None]
            n_p = neg[torch.gather(hardest, 1, d.partner)]
            with_query = nn.functional.normalize(b * q_det[:, None, :] + (1 - b) * n_p, dim=-1)
            synthetic = torch.cat([mixed, with_query], dim=1)  # (B, s + s', D), detached
        logits = torch.einsum("bd,bsd->bs", q, synthetic) / tau
        return torch.logsumexp(logits, dim=1)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        q = torch.randn(6, 4, generator=generator)
        k = q + 0.5 * torch.randn(6, 4, generator=generator)
        neg = torch.randn(10, 4, generator=generator)
        return [
            LossExample(init={"n_hardest": 4, "n_mix": 5, "n_query_mix": 3}, args=(q, k),
                        kwargs={"negatives": neg}),
            LossExample(init={"n_hardest": 20, "n_mix": 2, "n_query_mix": 0, "block_size": 4,
                              "temperature": 0.5}, args=(q, k), kwargs={"negatives": neg}),
            LossExample(init={"n_hardest": 3, "n_mix": 0, "n_query_mix": 2,
                              "learn_temperature": True}, args=(q, k), kwargs={"negatives": neg}),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        q = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"n_hardest": 0}, None, "n_hardest"),
            BadInput({"n_mix": -1}, None, "n_mix"),
            BadInput({"n_query_mix": 1.5}, None, "n_query_mix"),
            BadInput({}, (q, q[:2]), "batch sizes differ", kwargs={"negatives": q}),
            BadInput({}, (q, q), "negatives has dimension 2", kwargs={"negatives": q[:, :2]}),
            BadInput({}, (q, q), "NaN", kwargs={"negatives": q * float("nan")}),
        ]
