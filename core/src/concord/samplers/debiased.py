"""``debiased``: inverse-propensity-weighted choice of positives and negatives (DebCSE)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import torch
from torch import Tensor

from concord.contract import BadInput, SamplerExample
from concord.errors import InputError
from concord.samplers.base import PairContext, PairTile, Pairs, Sampler
from concord.validation import check_choice, check_finite, check_positive

__all__ = ["DebiasedSampler", "token_surface_similarity"]


def token_surface_similarity(
    query_tokens: Tensor, key_tokens: Tensor, *, measure: str = "jaccard", pad_id: int = 0,
) -> Tensor:
    """Surface similarity ``(N, M)`` of token-id rows (padded with ``pad_id``): ``"jaccard"``,
    :math:`|A \\cap B| / |A \\cup B|` of the token *sets* (1 for two empty rows); ``"length"``,
    :math:`\\min(|a|, |b|) / \\max(|a|, |b|)` of the token counts (the sentence-length cue)."""
    for name, t in (("query_tokens", query_tokens), ("key_tokens", key_tokens)):
        if not isinstance(t, Tensor) or t.dim() != 2 or t.is_floating_point():
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise InputError(f"{name} must be a 2-D integer tensor of token ids (N, L), got {shape}")
    q, k = query_tokens.long(), key_tokens.long().to(query_tokens.device)
    q_len = (q != pad_id).sum(1).double()
    k_len = (k != pad_id).sum(1).double()
    if measure == "length":
        lo = torch.minimum(q_len[:, None], k_len[None, :])
        hi = torch.maximum(q_len[:, None], k_len[None, :])
        return torch.where(hi > 0, lo / hi.clamp_min(1), torch.ones_like(hi))

    def first_occurrence(t: Tensor) -> Tensor:  # a token counts once per row (sets)
        same = t[:, :, None] == t[:, None, :]
        earlier = torch.tril(torch.ones(t.shape[1], t.shape[1], dtype=torch.bool, device=t.device), -1)
        return (t != pad_id) & ~(same & earlier).any(-1)

    q_set, k_set = first_occurrence(q), first_occurrence(k)
    q_n, k_n = q_set.sum(1).double(), k_set.sum(1).double()
    # |A n B| for every pair: a sparse (rows x distinct tokens) incidence product, O(shared pairs)
    vocab, inverse = torch.unique(torch.cat([q[q_set], k[k_set]]), return_inverse=True)
    n_q = int(q_set.sum())

    def incidence(mask: Tensor, cols: Tensor) -> Tensor:
        rows = torch.nonzero(mask)[:, 0]
        return torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(len(rows), dtype=torch.float64,
                                       device=q.device), (mask.shape[0], len(vocab)), check_invariants=True)

    with warnings.catch_warnings():  # torch's notice that sparse support is in beta, not ours to show
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        inter = torch.sparse.mm(incidence(q_set, inverse[:n_q]), incidence(k_set, inverse[n_q:]).t()).to_dense()
    union = q_n[:, None] + k_n[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


class DebiasedSampler(Sampler):
    r"""Inverse-propensity-weighted positives and negatives after DebCSE (Miao, Du and Zhang
    2023, `DebCSE: Rethinking Unsupervised Contrastive Sentence Embedding Learning in the
    Debiasing Perspective <https://arxiv.org/abs/2309.07396>`_, CIKM 2023): pairs are chosen
    by their *semantic* similarity, with the bias that *surface* similarity (shared words,
    sentence length) puts into that choice divided out by an inverse propensity weight, so that
    positives are not just look-alikes and negatives not just sentences of another length.

    **What this implements, and from where.** No code accompanies the paper, and its method
    section (the equations) could not be read here: only the abstract of the stored copy was
    reachable. So no equation numbers are cited; the rule below is this library's reading of
    the abstract's "inverse propensity weighted sampling ... according to both the surface and
    semantic similarity", written as standard inverse-propensity weighting, and every detail is
    a constructor argument. For query :math:`i`, its candidate keys :math:`C_i` (not itself,
    not another view of its own sample), semantic similarities :math:`s_{ij}` and surface
    similarities :math:`r_{ij}`:

    .. math::
        p^+_{ij} = \operatorname{softmax}_{j \in C_i}(s_{ij} / \tau_s),\qquad
        e^+_{ij} = \operatorname{softmax}_{j \in C_i}(r_{ij} / \tau_r),\qquad
        \pi^+_{ij} \propto \frac{p^+_{ij}}{\max(e^+_{ij}, \epsilon / |C_i|)},

    .. math::
        p^-_{ij} = \operatorname{softmax}_{j \in C_i}(-s_{ij} / \tau_s),\qquad
        e^-_{ij} = \operatorname{softmax}_{j \in C_i}(-r_{ij} / \tau_r),\qquad
        \pi^-_{ij} \propto \frac{p^-_{ij}}{\max(e^-_{ij}, \epsilon / |C_i|)}:

    :math:`p` is the semantic selection rule (similar keys as positives, dissimilar ones as
    negatives), :math:`e` its *propensity* -- the probability that the same rule driven by
    surface similarity alone would pick that pair -- and :math:`\pi` the debiased selection
    probability (normalised over :math:`C_i`; :math:`\epsilon` clips tiny propensities, the usual
    guard against exploding IPW weights). Unclipped, :math:`\pi^+ \propto e^{s/\tau_s - r/\tau_r}`
    (semantically close, superficially different) and :math:`\pi^- \propto e^{r/\tau_r -
    s/\tau_s}` (superficially close, semantically far). :meth:`selection_probabilities`
    returns both. At each bind, ``num_positives`` keys are drawn from :math:`\pi^+` without
    replacement, then ``num_negatives`` from :math:`\pi^-` over the candidates left; another
    view of the query's own sample (SimCSE's dropout copy) stays a positive unless
    ``keep_views=False``; every other key is left out (neither positive nor negative) unless
    ``other_negatives=True``.

    **Interface.** Surface similarity cannot come from embeddings, and the core stays torch-only
    (no tokenizer), so :meth:`bind` takes it from the caller, in addition to the usual
    arguments: either ``surface`` (an ``(N, M)`` matrix, e.g. BLEU or edit similarity computed
    in the data pipeline) or ``query_tokens`` / ``key_tokens`` (padded ``(N, L)`` token ids,
    compared by :func:`token_surface_similarity` with ``surface_measure``). Semantic similarity
    is the cosine of the bound embeddings unless ``semantic`` (``(N, M)``, e.g. a frozen
    teacher's) is given. Draws come from ``generator`` (default: torch's global generator, hence
    ``stochastic = True``). Losses that bind their sampler internally cannot pass these
    arguments: bind it yourself and give the pairs to
    :func:`concord.losses.contrast.contrast_terms`.

    Args:
        num_positives: positives drawn per query (default: ``1``).
        num_negatives: negatives drawn per query (default: ``4``).
        semantic_temperature: :math:`\tau_s` (default: ``0.1``).
        surface_temperature: :math:`\tau_r` (default: ``0.1``).
        propensity_floor: :math:`\epsilon`, the clip of :math:`e` relative to the uniform
            :math:`1 / |C_i|` (default: ``0.05``; ``0`` disables it).
        keep_views: keys of the query's own sample are positives (default: ``True``).
        other_negatives: keys not drawn are negatives too (default: ``False``).
        surface_measure: ``"jaccard"`` or ``"length"`` for token inputs (default:
            ``"jaccard"``).
        pad_id: padding token id of token inputs (default: ``0``).
    """

    registry_name = "debiased"
    stochastic = True  # the draws come from the given generator, or torch's global one

    def __init__(
        self,
        *,
        num_positives: int = 1,
        num_negatives: int = 4,
        semantic_temperature: float = 0.1,
        surface_temperature: float = 0.1,
        propensity_floor: float = 0.05,
        keep_views: bool = True,
        other_negatives: bool = False,
        surface_measure: Literal["jaccard", "length"] = "jaccard",
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        for name, v in (("num_positives", num_positives), ("num_negatives", num_negatives)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"{name} must be an integer >= 0, got {v!r}")
        if num_positives == 0 and num_negatives == 0 and not keep_views:
            raise InputError("num_positives and num_negatives are 0 and keep_views is False: no pairs")
        self.num_positives, self.num_negatives = num_positives, num_negatives
        self.semantic_temperature = check_positive("semantic_temperature", semantic_temperature)
        self.surface_temperature = check_positive("surface_temperature", surface_temperature)
        self.propensity_floor = check_positive("propensity_floor", propensity_floor, allow_zero=True)
        if self.propensity_floor > 1:
            raise InputError(f"propensity_floor must lie in [0, 1], got {propensity_floor!r}")
        self.keep_views, self.other_negatives = bool(keep_views), bool(other_negatives)
        self.surface_measure = check_choice("surface_measure", surface_measure, ("jaccard", "length"))
        if isinstance(pad_id, bool) or not isinstance(pad_id, int):
            raise InputError(f"pad_id must be an integer, got {pad_id!r}")
        self.pad_id = pad_id
        self._pending: dict[str, Any] | None = None

    # -- binding ----------------------------------------------------------------------------
    def bind(  # type: ignore[override]
        self,
        query: Tensor,
        key: Tensor,
        *,
        surface: Tensor | None = None,
        query_tokens: Tensor | None = None,
        key_tokens: Tensor | None = None,
        semantic: Tensor | None = None,
        generator: torch.Generator | None = None,
        **kwargs: Any,
    ) -> Pairs:
        """:meth:`Sampler.bind` plus the surface information (``surface``, or ``query_tokens``
        and ``key_tokens``), an optional ``semantic`` matrix and the ``generator``."""
        self._pending = {"surface": surface, "query_tokens": query_tokens, "key_tokens": key_tokens,
                         "semantic": semantic, "generator": generator}
        try:
            return super().bind(query, key, **kwargs)
        finally:
            self._pending = None

    def _matrix(self, name: str, t: Tensor, n: int, m: int, device: torch.device) -> Tensor:
        if not isinstance(t, Tensor) or t.shape != (n, m):
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise InputError(f"{name} must have shape ({n}, {m}), got {shape}")
        return check_finite(name, t.detach().to(device=device, dtype=torch.float64))

    def surface_similarity(self, ctx: PairContext, pending: dict[str, Any]) -> Tensor:
        n, m, dev = ctx.n_query, ctx.n_key, ctx.query.device
        surface, qt, kt = pending["surface"], pending["query_tokens"], pending["key_tokens"]
        if surface is not None:
            if qt is not None or kt is not None:
                raise InputError("give surface or query_tokens / key_tokens, not both")
            return self._matrix("surface", surface, n, m, dev)
        if qt is None or kt is None:
            raise InputError(
                "sampler 'debiased' needs surface similarity: bind(query, key, surface=(N, M)) or "
                "bind(query, key, query_tokens=(N, L), key_tokens=(M, L)); a loss that binds its "
                "sampler itself cannot pass it (bind it and use contrast_terms)"
            )
        if len(qt) != n or len(kt) != m:
            raise InputError(f"query_tokens / key_tokens need {n} / {m} rows, got {len(qt)} / {len(kt)}")
        return token_surface_similarity(qt, kt, measure=self.surface_measure, pad_id=self.pad_id).to(dev)

    def candidates(self, ctx: PairContext) -> tuple[Tensor, Tensor]:
        """``(candidates, views)``: keys a query may be paired with by drawing (not itself, not
        its own sample), and keys of its own sample (not itself)."""
        not_self = ~ctx.is_self(0, ctx.n_query, 0, ctx.n_key)
        own = ctx.same_id(0, ctx.n_query, 0, ctx.n_key) & not_self
        return not_self & ~own, own

    def selection_probabilities(self, semantic: Tensor, surface: Tensor, candidates: Tensor) -> tuple[Tensor, Tensor]:
        r""":math:`(\pi^+, \pi^-)`, each ``(N, M)``, rows summing to 1 over the candidates
        (0 elsewhere; an all-zero row for a query without candidates)."""
        def softmax(x: Tensor) -> Tensor:
            return torch.softmax(x.masked_fill(~candidates, float("-inf")), dim=1).nan_to_num(0.0)

        size = candidates.sum(1, keepdim=True).clamp_min(1).to(semantic.dtype)
        floor = self.propensity_floor / size
        out = []
        for sign in (1.0, -1.0):
            p = softmax(sign * semantic / self.semantic_temperature)
            e = softmax(sign * surface / self.surface_temperature)
            w = torch.where(candidates, p / torch.maximum(e, floor).clamp_min(1e-300), torch.zeros_like(p))
            out.append(w / w.sum(1, keepdim=True).clamp_min(1e-300))
        return out[0], out[1]

    def prepare(self, ctx: PairContext) -> Any:
        pending = self._pending
        if pending is None:
            raise InputError("sampler 'debiased' must be bound through its own bind() (it needs surface similarity)")
        surface = self.surface_similarity(ctx, pending)
        n, m, dev = ctx.n_query, ctx.n_key, ctx.query.device
        if pending["semantic"] is not None:
            semantic = self._matrix("semantic", pending["semantic"], n, m, dev)
        else:
            q = torch.nn.functional.normalize(ctx.query.double(), dim=1)
            k = torch.nn.functional.normalize(ctx.key.double(), dim=1)
            semantic = q @ k.T
        cand, own = self.candidates(ctx)
        pi_pos, pi_neg = self.selection_probabilities(semantic, surface, cand)
        gen = pending["generator"]
        positive = own.clone() if self.keep_views else torch.zeros_like(own)
        left = cand.clone()
        positive |= self._draw(pi_pos, left, self.num_positives, gen)
        left &= ~positive
        negative = self._draw(pi_neg, left, self.num_negatives, gen)
        if self.other_negatives:
            negative = left.clone()
        return positive, negative & ~positive

    @staticmethod
    def _draw(pi: Tensor, allowed: Tensor, k: int, gen: torch.Generator | None) -> Tensor:
        """``k`` keys per row drawn from ``pi`` restricted to ``allowed``, without replacement
        (successive draws proportional to ``pi`` among the keys left; all of them where fewer
        remain), by the Gumbel top-k trick: the ``k`` largest ``log pi + G``, ``G ~ Gumbel``."""
        chosen = torch.zeros_like(allowed)
        take = min(k, int(allowed.shape[1]))
        if take == 0:
            return chosen
        gen_dev = gen.device if gen is not None else torch.device("cpu")
        u = torch.rand(pi.shape, generator=gen, device=gen_dev, dtype=torch.float64).to(pi.device)
        gumbel = -torch.log(-torch.log(u.clamp(1e-300, 1 - 1e-16)))
        # a candidate whose probability is 0 (all mass clipped elsewhere) is still drawable last
        score = torch.where(allowed, pi.double().clamp_min(1e-300).log() + gumbel,
                            torch.full_like(gumbel, float("-inf")))
        top = torch.topk(score, take, dim=1)
        chosen.scatter_(1, top.indices, torch.isfinite(top.values))
        return chosen & allowed

    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        positive, negative = state
        return PairTile(positive=positive[i0:i1, j0:j1], negative=negative[i0:i1, j0:j1])

    # -- contract ---------------------------------------------------------------------------
    @classmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        z = torch.nn.functional.normalize(torch.randn(6, 4, generator=generator), dim=1)
        zz = torch.cat([z, z + 0.1 * torch.randn(6, 4, generator=generator)])
        tokens = torch.randint(1, 9, (6, 7), generator=generator)
        tokens[:, 5:] = 0
        tokens[2, 3:] = 0
        ids = torch.arange(6).repeat(2)
        surface = torch.rand(12, 12, generator=generator)
        return [
            SamplerExample(init={}, bind={"query": z, "key": z, "query_tokens": tokens, "key_tokens": tokens,
                                          "self_index": torch.arange(6)}),
            SamplerExample(init={"num_positives": 2, "num_negatives": 3, "surface_measure": "length"},
                           bind={"query": zz, "key": zz, "query_tokens": tokens.repeat(2, 1),
                                 "key_tokens": tokens.repeat(2, 1), "query_ids": ids, "key_ids": ids,
                                 "self_index": torch.arange(12)}),
            SamplerExample(init={"other_negatives": True, "propensity_floor": 0.0},
                           bind={"query": zz, "key": zz, "surface": surface, "query_ids": ids,
                                 "key_ids": ids, "self_index": torch.arange(12)}),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"num_positives": -1}, None, "num_positives"),
            BadInput({"num_positives": 0, "num_negatives": 0, "keep_views": False}, None, "no pairs"),
            BadInput({"semantic_temperature": 0.0}, None, "semantic_temperature"),
            BadInput({"propensity_floor": 2.0}, None, "propensity_floor"),
            BadInput({"surface_measure": "bleu"}, None, "surface_measure"),
            BadInput({}, (), "needs surface similarity", kwargs={"query": z, "key": z}),
            BadInput({}, (), r"surface must have shape \(4, 4\)",
                     kwargs={"query": z, "key": z, "surface": torch.rand(4, 3)}),
            BadInput({}, (), "NaN|non-finite",
                     kwargs={"query": z, "key": z, "surface": torch.full((4, 4), float("nan"))}),
            BadInput({}, (), "integer tensor of token ids",
                     kwargs={"query": z, "key": z, "query_tokens": torch.rand(4, 5),
                             "key_tokens": torch.ones(4, 5, dtype=torch.long)}),
        ]
