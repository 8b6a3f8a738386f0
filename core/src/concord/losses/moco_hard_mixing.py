"""MoCHi: hard negative mixing for contrastive learning."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import ContrastTerms, contrast_terms
from concord.losses.row_blocks import row_blocks
from concord.queue import MemoryQueue
from concord.validation import check_embeddings, check_same_rows

__all__ = ["MixingDraws", "MoCHi"]

_PAIR_CHUNK = 128  # mixed pairs per step of the no-grad dot products: O(B x 128 x D) memory


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


def _pair_dots(keys: Tensor, i: Tensor, j: Tensor) -> Tensor:
    """``keys[i] . keys[j]`` for index matrices ``i, j`` of shape ``(B, s)``, in chunks of pairs."""
    out = keys.new_empty(i.shape)
    for c0 in range(0, int(i.shape[1]), _PAIR_CHUNK):
        c1 = c0 + _PAIR_CHUNK
        a = keys.index_select(0, i[:, c0:c1].reshape(-1))
        b = keys.index_select(0, j[:, c0:c1].reshape(-1))
        out[:, c0:c1] = torch.linalg.vecdot(a, b).view(i.shape[0], -1)
    return out


@dataclass(frozen=True)
class _Mixtures:
    r"""What the synthetic logits of a block of queries need, computed without gradient: queue
    indices of the mixed negatives (``first``, ``second``; ``partner`` for the query mixtures),
    the coefficients, and the norms of the unnormalised mixtures.

    With :math:`S = q N^\top`, :math:`q^\top h_k = (\alpha S_i + (1-\alpha) S_j) /
    \lVert \alpha n_i + (1-\alpha) n_j \rVert` and :math:`\lVert \alpha n_i + (1-\alpha) n_j
    \rVert^2 = \alpha^2 \lVert n_i \rVert^2 + (1-\alpha)^2 \lVert n_j \rVert^2 +
    2\alpha(1-\alpha) n_i^\top n_j`; the norms (and :math:`n_i^\top n_j`) carry no gradient, as
    the detached :math:`h_k` asks; likewise for :math:`h'_k` with :math:`q^\top q` in place of
    :math:`S_i`. So the ``(B, s + s', D)`` mixtures are never kept for the backward pass."""

    first: Tensor
    second: Tensor
    alpha: Tensor
    norm_mix: Tensor
    partner: Tensor
    beta: Tensor
    norm_query_mix: Tensor

    @staticmethod
    @torch.no_grad()
    def of(q: Tensor, neg: Tensor, d: MixingDraws, n_candidates: int) -> _Mixtures:
        s = q @ neg.T
        hardest = torch.topk(s, n_candidates, dim=1).indices  # (B, N), the hardest first
        i, j = torch.gather(hardest, 1, d.first), torch.gather(hardest, 1, d.second)
        c = torch.gather(hardest, 1, d.partner)
        sq = (neg * neg).sum(dim=1)  # |n|^2 per queue key
        a, b = d.alpha.to(s.dtype), d.beta.to(s.dtype)
        gram = _pair_dots(neg, i, j)  # n_i . n_j
        norm_mix = torch.sqrt(a * a * sq[i] + (1 - a) ** 2 * sq[j] + 2 * a * (1 - a) * gram)
        qq = (q * q).sum(dim=1, keepdim=True)
        qc = torch.gather(s, 1, c)
        norm_qmix = torch.sqrt(b * b * qq + (1 - b) ** 2 * sq[c] + 2 * b * (1 - b) * qc)
        return _Mixtures(i, j, a, norm_mix, c, b, norm_qmix)

    @staticmethod
    def cat(parts: list[_Mixtures]) -> _Mixtures:
        return _Mixtures(*(torch.cat(col) for col in zip(*(p.fields() for p in parts))))

    def fields(self) -> tuple[Tensor, ...]:
        return (self.first, self.second, self.alpha, self.norm_mix, self.partner, self.beta,
                self.norm_query_mix)

    def rows(self, start: int, stop: int) -> _Mixtures:
        return _Mixtures(*(t[start:stop] for t in self.fields()))


def _queue_lse(q: Tensor, neg: Tensor, tau: Tensor | float, m: _Mixtures | None) -> Tensor:
    """log-sum-exp of a block of queries against the queue and their own synthetic negatives:
    one ``(B, K)`` product with gradient; the synthetic logits gathered from it."""
    s = q @ neg.T
    if m is None:
        return torch.logsumexp(s / tau, dim=1)
    mix = (m.alpha * torch.gather(s, 1, m.first) + (1 - m.alpha) * torch.gather(s, 1, m.second)) / m.norm_mix
    q_self = (q * q.detach()).sum(dim=1, keepdim=True)
    with_query = (m.beta * q_self + (1 - m.beta) * torch.gather(s, 1, m.partner)) / m.norm_query_mix
    return torch.logsumexp(torch.cat([s, mix, with_query], dim=1) / tau, dim=1)


class MoCHi(ContrastiveLoss):
    r"""MoCHi (Kalantidis et al. 2020, `Hard Negative Mixing for Contrastive Learning
    <https://arxiv.org/abs/2010.01028>`_, Sec. 4): MoCo's InfoNCE whose negatives are extended,
    for each query :math:`q`, with synthetic hard negatives mixed from its :math:`N` hardest
    memory-queue negatives :math:`\tilde{Q}^N = \{n_1, \dots, n_N\}` (highest :math:`q^\top n`):

    .. math::
        h_k = \frac{\tilde{h}_k}{\lVert \tilde{h}_k \rVert_2},\quad
        \tilde{h}_k = \alpha_k n_i + (1 - \alpha_k) n_j,\quad
        n_i, n_j \in \tilde{Q}^N,\ \alpha_k \sim U(0, 1),\quad k = 1..s \quad \text{(Sec. 4.1)}

    .. math::
        h'_k = \frac{\tilde{h}'_k}{\lVert \tilde{h}'_k \rVert_2},\quad
        \tilde{h}'_k = \beta_k q + (1 - \beta_k) n_j,\quad
        n_j \in \tilde{Q}^N,\ \beta_k \sim U(0, 0.5),\quad k = 1..s' \quad \text{(Sec. 4.2)}

    The synthetic points are detached (no gradient flows into them; the query still gets the
    gradient of :math:`q^\top h / \tau`) and are negatives of their own query only:

    .. math::
        \mathcal{L}_q = -\log \frac{e^{q^\top k / \tau}}{e^{q^\top k / \tau}
            + \sum_{n \in Q} e^{q^\top n / \tau} + \sum_{k=1}^{s} e^{q^\top h_k / \tau}
            + \sum_{k=1}^{s'} e^{q^\top h'_k / \tau}}

    The positive and the batch's keys go through the core's contrast engine
    (:func:`contrast_terms`); the queue and the synthetic negatives through one pass over the
    query-queue similarities, which also rank the hardest negatives, and the two log-sum-exps
    are joined per query. Both run in query blocks (``block_size``, checkpointed). The
    synthetic logits are computed from those similarities and the mixtures' norms (see
    ``_Mixtures``), so no ``(N, s + s', D)`` tensor of mixtures is kept for the backward pass;
    only a no-grad pass over the mixed pairs computes :math:`n_i^\top n_j` (once, outside the
    recomputed blocks).

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
    stochastic = True  # the mixing draws (which negatives, alpha, beta) come from the seeded generator

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
        # the positive and the batch's keys: the contrast engine; the queue and the synthetic
        # negatives: one pass over the query-queue similarities (which also rank the hardest)
        terms = contrast_terms(q, keys, tau, positive_index=local, block_size=self.block_size)
        if int(neg.shape[0]) == 0:
            return self.reduce(terms)
        n_candidates = min(self.n_hardest, int(neg.shape[0]))
        draws = None
        if self.n_mix + self.n_query_mix > 0:
            draws = self.draw(n_global, n_candidates, generator).rows(offset, offset + int(q.shape[0]))
            draws = MixingDraws(*(t.to(q.device) for t in (draws.first, draws.second, draws.alpha,
                                                          draws.partner, draws.beta)))
        pos_logit = (q * keys[local]).sum(dim=1) / tau
        lse_keys = terms.loss + pos_logit
        mixtures = None
        if draws is not None:  # the no-grad part, once: not recomputed by the checkpointed blocks
            n = int(q.shape[0])
            step = n if self.block_size is None else self.block_size
            mixtures = _Mixtures.cat([
                _Mixtures.of(q[i0:i0 + step].detach(), neg, draws.rows(i0, i0 + step), n_candidates)
                for i0 in range(0, n, step)
            ])
        (lse_queue,) = row_blocks(
            lambda i0, i1, q_blk, n: _queue_lse(
                q_blk, n, tau, None if mixtures is None else mixtures.rows(i0, i1)),
            q, neg, block_size=self.block_size,
        )
        loss = torch.logaddexp(lse_keys, lse_queue) - pos_logit
        return self.reduce(ContrastTerms(loss, terms.valid))

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
