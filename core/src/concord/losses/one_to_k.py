"""1-to-K contrastive learning: one query against its K positives (languages, modalities) at once."""

from __future__ import annotations

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import contrast_terms
from concord.samplers.views import ViewsSampler
from concord.validation import check_embeddings, check_same_rows

__all__ = ["OneToK"]


class OneToK(ContrastiveLoss):
    r"""1-to-K contrastive loss (Nie et al. 2024, `Improving the Consistency in Cross-Lingual
    Cross-Modal Retrieval with 1-to-K Contrastive Learning <https://arxiv.org/abs/2406.18254>`_,
    KDD 2024): each query :math:`v_i` (an image) is aligned with its :math:`K` positives
    :math:`t_i^1, \dots, t_i^K` (captions in :math:`K` languages) *in one softmax* over all
    :math:`NK` keys, so no language is favoured, and each key is aligned with its query among all
    :math:`N` queries:

    .. math::
        \mathcal{L}_{v2t} = -\frac{1}{N} \sum_i \frac{1}{K} \sum_{k=1}^{K}
            \log \frac{e^{v_i^\top t_i^k / \tau}}{\sum_{j=1}^{N} \sum_{m=1}^{K} e^{v_i^\top t_j^m / \tau}},
        \qquad
        \mathcal{L}_{t2v} = -\frac{1}{NK} \sum_{i, k}
            \log \frac{e^{v_i^\top t_i^k / \tau}}{\sum_{j=1}^{N} e^{v_j^\top t_i^k / \tau}},

    :math:`\mathcal{L} = (\mathcal{L}_{v2t} + \mathcal{L}_{t2v}) / 2` (``symmetric=True``) or
    :math:`\mathcal{L}_{v2t}` alone. The query-to-keys part is the core's contrast engine with
    several positives per query (SupCon's :math:`L_{out}` form, positives sharing the query's
    id: the ``views`` sampler); the keys-to-query part its one-positive path.

    Departure from the authors' code (``get_unialign_contrastive_loss`` with its default
    ``need_divm=0``): it divides the sum over the :math:`K` positives *and* the text-to-image
    term by :math:`K`, i.e. :math:`(\mathcal{L}_{v2t} + \mathcal{L}_{t2v} / K) / 2`; here both
    directions are means, weighted equally.

    Args:
        temperature: :math:`\tau` (default: ``0.07``, X-VLM's initial value the authors build
            on; ``learn_temperature=True`` learns it as they do).
        symmetric: add the keys-to-query direction (default: ``True``).
        learn_temperature, normalize, gather, block_size: see
            :class:`~concord.losses.base.ContrastiveLoss`.

    Shapes:
        queries: ``(N, D)``; keys: ``(N, K, D)``, row ``i`` the ``K`` positives of query ``i``.
        Output: scalar.
    """

    registry_name = "one_to_k"

    def __init__(
        self,
        *,
        temperature: float = 0.07,
        symmetric: bool = True,
        learn_temperature: bool = False,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=learn_temperature, normalize=normalize,
            gather=gather, block_size=block_size, empty_positives="error",
        )
        self.symmetric = bool(symmetric)
        self._views = ViewsSampler()

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:
        check_embeddings("queries", queries)
        check_embeddings("keys", keys, ndim=3)
        check_same_rows(queries=queries, keys=keys)
        if keys.shape[-1] != queries.shape[-1]:
            raise InputError(f"dimensions differ: queries {tuple(queries.shape)}, keys {tuple(keys.shape)}")
        n, k, _ = keys.shape
        q, t = self.embed(queries), self.embed(keys)
        if self.gather:
            gq, gt = distributed.gather(q), distributed.gather(t)
            q_all, t_all, offset = gq.tensor, gt.tensor, gq.offset
        else:
            q_all, t_all, offset = q, t, 0
        n_global = int(q_all.shape[0])
        dev = q.device
        local = offset + torch.arange(n, device=dev)
        flat_keys = t_all.reshape(n_global * k, -1)  # sample-major: row j * K + m is t_j^m
        key_ids = torch.arange(n_global, device=dev).repeat_interleave(k)
        pairs = self._views.bind(q, flat_keys, query_ids=local, key_ids=key_ids)
        tau = self.tau()
        v2t = self.reduce(contrast_terms(q, flat_keys, tau, pairs=pairs, block_size=self.block_size))
        if not self.symmetric:
            return v2t
        t2v = self.reduce(contrast_terms(
            t.reshape(n * k, -1), q_all, tau, positive_index=local.repeat_interleave(k),
            block_size=self.block_size,
        ))
        return (v2t + t2v) / 2

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        v = torch.randn(5, 4, generator=generator)
        t = v[:, None] + 0.5 * torch.randn(5, 3, 4, generator=generator)
        return [
            LossExample(init={}, args=(v, t)),
            LossExample(init={"symmetric": False, "temperature": 0.2, "block_size": 2}, args=(v, t)),
            LossExample(init={"learn_temperature": True}, args=(v, t[:, :1])),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        v = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({}, (v, v), "3-D"),
            BadInput({}, (v, torch.randn(3, 2, 3)), "batch sizes differ"),
            BadInput({}, (v, torch.randn(4, 2, 5)), "dimensions differ"),
        ]
