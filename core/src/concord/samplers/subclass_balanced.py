"""``subclass_balanced``: positives weighted towards the same cluster within a class (SBCL)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.contract import BadInput, SamplerExample
from concord.errors import InputError
from concord.samplers.base import PairContext, PairTile, Sampler
from concord.validation import check_positive

__all__ = ["SubclassBalancedSampler", "subclass_counts"]


def subclass_counts(class_sizes: Tensor, subclass_size: int) -> Tensor:
    """SBCL's number of subclasses per class: :math:`\\max(1, \\lfloor n_c / \\max(\\min_c n_c, M)
    \\rfloor)` -- head classes split into clusters about the size of the tail classes (never
    below ``M`` samples)."""
    present = class_sizes[class_sizes > 0]
    unit = max(int(present.min()), subclass_size) if present.numel() else subclass_size
    return torch.clamp(class_sizes // unit, min=1)


class SubclassBalancedSampler(Sampler):
    r"""Subclass-balancing positives (Hou et al. 2023, `Subclass-balancing Contrastive Learning
    for Long-tailed Recognition <https://arxiv.org/abs/2306.15925>`_, ICCV 2023): each head class
    is split into clusters ("subclasses") of about the size of the tail classes, and a sample is
    pulled towards its own subclass more than towards the rest of its class -- the bi-granularity
    loss

    .. math::
        \mathcal{L}_i = -\frac{a}{|S(i)|} \sum_{p \in S(i)} \log p_{ip}
            - \frac{\gamma}{|P(i)|} \sum_{p \in P(i)} \log p_{ip},\qquad
        p_{ip} = \frac{e^{z_i \cdot z_p / \tau}}{\sum_{k \ne i} e^{z_i \cdot z_k / \tau}},

    with :math:`S(i)` the other members of :math:`i`'s subclass and :math:`P(i)` of its class.
    As a sampler: positives are the same-class keys, with weights
    :math:`w_{ip} = a\,\mathbb{1}[p \in S(i)] / |S(i)| + \gamma / |P(i)|`, every other key a
    negative; a contrastive loss that averages weighted positives (``sup_con``, ``info_nce``)
    then computes exactly :math:`\mathcal{L}_i / (a + \gamma)` (tested against the authors'
    ``SupConLoss_ccl``; they use :math:`a = \tau / \tau_{base}`, :math:`\gamma = 0.25`). A row
    whose subclass has no other member keeps only the class term.

    Subclasses: within each class of the bound keys, :math:`K_c = \max(1, \lfloor n_c /
    \max(\min_c n_c, M) \rfloor)` clusters (:func:`subclass_counts`, the authors' rule) by
    spherical k-means on the keys (cosine, ``iterations`` Lloyd steps from a deterministic
    farthest-point start, ties to the lower index). Departure: the authors cluster the whole
    training set's features every few epochs (``--step``); here the bound batch's keys are
    clustered at every ``bind`` -- no extra pass over the data, and the clusters follow the
    model at each step, at the price of being estimated from a batch (use large batches, or
    class-balanced ones with several samples per head class). Keys of the same sample (views,
    same id) stay in one subclass: the clustering runs on per-id mean embeddings.

    Args:
        subclass_size: :math:`M`, the smallest subclass size (default: ``10``, the authors'
            ``--cluster``).
        subclass_weight: :math:`a` (default: ``1.0``).
        class_weight: :math:`\gamma` (default: ``0.25``, the authors').
        iterations: k-means iterations (default: ``10``).
    """

    registry_name = "subclass_balanced"
    needs_labels = "discrete"

    def __init__(
        self,
        *,
        subclass_size: int = 10,
        subclass_weight: float = 1.0,
        class_weight: float = 0.25,
        iterations: int = 10,
    ) -> None:
        super().__init__()
        for name, v in (("subclass_size", subclass_size), ("iterations", iterations)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be an integer >= 1, got {v!r}")
        self.subclass_size, self.iterations = subclass_size, iterations
        self.subclass_weight = check_positive("subclass_weight", subclass_weight, allow_zero=True)
        self.class_weight = check_positive("class_weight", class_weight, allow_zero=True)
        if self.subclass_weight == 0 and self.class_weight == 0:
            raise InputError("subclass_weight and class_weight are both 0: no positive would count")

    # -- per batch ------------------------------------------------------------------------
    def prepare(self, ctx: PairContext) -> Any:
        assert ctx.query_labels is not None and ctx.key_labels is not None
        key_sub = self.subclasses(ctx.key, ctx.key_labels, ctx.key_ids)
        # a query's subclass: that of the keys of its own sample, else of its nearest key of
        # the same class (a query without a key of its own sample, e.g. an extra view)
        query_sub = self._query_subclasses(ctx, key_sub)
        dev = ctx.query.device
        n = ctx.n_query
        dtype = torch.promote_types(torch.float32, ctx.query.dtype)  # float64 stays float64
        n_cls = torch.zeros(n, device=dev, dtype=dtype)
        n_sub = torch.zeros(n, device=dev, dtype=dtype)
        for i0 in range(0, n, 1024):
            i1 = min(n, i0 + 1024)
            not_self = ~ctx.is_self(i0, i1, 0, ctx.n_key)
            same_cls = (ctx.query_labels[i0:i1, None] == ctx.key_labels[None, :]) & not_self
            n_cls[i0:i1] = same_cls.sum(1)
            n_sub[i0:i1] = (same_cls & (query_sub[i0:i1, None] == key_sub[None, :])).sum(1)
        return key_sub, query_sub, n_cls, n_sub

    def subclasses(self, key: Tensor, labels: Tensor, ids: Tensor) -> Tensor:
        """Global subclass id of each key (class by class, k-means on per-sample means)."""
        out = torch.full((int(key.shape[0]),), -1, dtype=torch.long, device=key.device)
        classes = torch.unique(labels)
        # class sizes in samples (ids), not keys: two views of one image are one sample
        sizes = []
        for c in classes.tolist():
            c_ids = ids[labels == c]
            sizes.append(int(torch.unique(c_ids).numel()) if bool((c_ids >= 0).all()) else len(c_ids))
        counts = subclass_counts(torch.tensor(sizes, dtype=torch.long), self.subclass_size)
        offset = 0
        for c, k in zip(classes.tolist(), counts.tolist()):
            rows = torch.nonzero(labels == c).flatten()
            row_ids = ids[rows]
            uniq, inverse = torch.unique(row_ids, return_inverse=True)
            if bool((row_ids < 0).any()):  # keys without a sample id cluster on their own
                uniq, inverse = rows, torch.arange(len(rows), device=key.device)
            means = torch.zeros(len(uniq), key.shape[1], dtype=torch.float32, device=key.device)
            means.index_add_(0, inverse, key[rows].float())
            assign = _spherical_kmeans(means, min(int(k), len(uniq)), self.iterations)
            out[rows] = offset + assign[inverse]
            offset += int(k)
        return out

    @staticmethod
    def _query_subclasses(ctx: PairContext, key_sub: Tensor) -> Tensor:
        n = ctx.n_query
        dev = ctx.query.device
        q_sub = torch.full((n,), -1, dtype=torch.long, device=dev)
        has_id = ctx.key_ids >= 0
        found = torch.zeros(n, dtype=torch.bool, device=dev)
        if bool(has_id.any()):
            ids_sorted, order = torch.sort(ctx.key_ids[has_id])
            pos = torch.searchsorted(ids_sorted, ctx.query_ids).clamp(max=len(ids_sorted) - 1)
            found = (ids_sorted[pos] == ctx.query_ids) & (ctx.query_ids >= 0)
            q_sub[found] = key_sub[has_id][order][pos[found]]
        rest = torch.nonzero(~found).flatten()
        if rest.numel():  # no key of its own sample: the subclass of its nearest same-class key
            sims = ctx.query[rest].float() @ ctx.key.float().T
            same = ctx.query_labels[rest, None] == ctx.key_labels[None, :]
            nearest = torch.argmax(sims.masked_fill(~same, float("-inf")), dim=1)
            q_sub[rest] = torch.where(same.any(dim=1), key_sub[nearest], torch.full_like(nearest, -1))
        return q_sub

    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        assert ctx.query_labels is not None and ctx.key_labels is not None
        key_sub, query_sub, n_cls, n_sub = state
        not_self = ~ctx.is_self(i0, i1, j0, j1)
        same_cls = (ctx.query_labels[i0:i1, None] == ctx.key_labels[None, j0:j1]) & not_self
        same_sub = same_cls & (query_sub[i0:i1, None] == key_sub[None, j0:j1])
        sub_w = self.subclass_weight / n_sub[i0:i1].clamp_min(1)
        cls_w = self.class_weight / n_cls[i0:i1].clamp_min(1)
        weight = same_sub * sub_w[:, None] + same_cls * cls_w[:, None]
        return PairTile(positive=same_cls, negative=~same_cls & not_self, weight=weight.to(n_cls.dtype))

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        # a head class of 8 samples in two tight groups, two tail classes of 2
        base = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [-1.0, 0, 0]])
        z = torch.cat([base[0].expand(4, 3), base[1].expand(4, 3), base[2].expand(2, 3),
                       base[3].expand(2, 3)]) + 0.05 * torch.randn(12, 3, generator=generator)
        y = torch.tensor([0] * 8 + [1, 1, 2, 2])
        return [
            SamplerExample(init={"subclass_size": 2},
                           bind={"query": z, "key": z, "query_labels": y, "key_labels": y,
                                 "self_index": torch.arange(12)}),
            SamplerExample(init={"subclass_size": 4, "class_weight": 1.0},
                           bind={"query": z[:5], "key": z, "query_labels": y[:5], "key_labels": y}),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"subclass_size": 0}, None, "subclass_size"),
            BadInput({"class_weight": -1.0}, None, "class_weight"),
            BadInput({"subclass_weight": 0.0, "class_weight": 0.0}, None, "both 0"),
        ]


def _spherical_kmeans(x: Tensor, k: int, iterations: int) -> Tensor:
    """Cluster ids ``(n,)`` of the rows of ``x`` by cosine k-means, deterministically: the first
    centre is row 0, each next the row least similar to the centres so far; then Lloyd steps."""
    n = int(x.shape[0])
    if k <= 1 or n <= 1:
        return torch.zeros(n, dtype=torch.long, device=x.device)
    x = torch.nn.functional.normalize(x, dim=1)
    centres = [0]
    best = x @ x[0]
    for _ in range(1, k):
        nxt = int(torch.argmin(best))
        centres.append(nxt)
        best = torch.maximum(best, x @ x[nxt])
    c = x[centres].clone()
    assign = torch.argmax(x @ c.T, dim=1)
    for _ in range(iterations):
        for j in range(k):
            members = assign == j
            if bool(members.any()):
                c[j] = torch.nn.functional.normalize(x[members].sum(0), dim=0)
        new = torch.argmax(x @ c.T, dim=1)
        if torch.equal(new, assign):
            break
        assign = new
    return assign
