"""InfoNCE: queries against keys (another view, a memory queue, several positives per query)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss, SamplerSpec, _build_sampler
from concord.losses.contrast import ContrastTerms, contrast_terms
from concord.queue import MemoryQueue
from concord.validation import check_embeddings, check_same_rows

__all__ = ["InfoNCE"]


class InfoNCE(ContrastiveLoss):
    r"""InfoNCE (van den Oord et al. 2018, `Representation Learning with Contrastive Predictive
    Coding <https://arxiv.org/abs/1807.03748>`_, Eq. 4), in the query/key form of MoCo
    (He et al. 2020, Eq. 1) and CLIP (Radford et al. 2021, symmetric):

    .. math::
        \mathcal{L}_q = -\log \frac{\exp(q \cdot k_+ / \tau)}
                                  {\exp(q \cdot k_+ / \tau) + \sum_{k_-} \exp(q \cdot k_- / \tau)}

    By default key ``i`` is query ``i``'s only positive and the other keys, plus any extra
    ``negatives`` (a :class:`~concord.queue.MemoryQueue` or a tensor), are negatives. With a
    ``sampler`` (e.g. ``"labels"``) a query may have several positives, averaged as in SupCon's
    :math:`L_{out}` (see :mod:`concord.losses.contrast`). Unlike NT-Xent, queries are not
    contrasted with each other (no intra-view negatives).

    Args:
        temperature: :math:`\tau` (default: ``0.07``, MoCo / CLIP's initial value).
        learn_temperature: learn :math:`\log\tau` as CLIP does (default: ``False``).
        symmetric: average ``L(query -> key)`` and ``L(key -> query)`` (CLIP; default: ``False``).
            Not combinable with extra ``negatives``.
        sampler: which keys are positives (default: ``None``: key ``i`` for query ``i``).
        normalize: cosine similarity (default: ``True``).
        gather: keys from every process (default: ``False``).
        block_size: queries per checkpointed block (default: ``None``).
        empty_positives: ``"error"`` or ``"ignore"`` queries without a positive (default: ``"error"``).

    Shapes:
        query, key: ``(N, D)``; negatives: ``(K, D)`` or a queue; labels: ``(N,)`` / ``(K,)``.
    """

    registry_name = "info_nce"

    def __init__(
        self,
        *,
        temperature: float = 0.07,
        learn_temperature: bool = False,
        symmetric: bool = False,
        sampler: SamplerSpec = None,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
        empty_positives: Literal["error", "ignore"] = "error",
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=learn_temperature, normalize=normalize,
            gather=gather, block_size=block_size, empty_positives=empty_positives,
        )
        self.symmetric = bool(symmetric)
        self.sampler = sampler
        self._sampler = _build_sampler(sampler)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        *,
        negatives: Tensor | MemoryQueue | None = None,
        query_labels: Tensor | None = None,
        key_labels: Tensor | None = None,
        negative_labels: Tensor | None = None,
    ) -> Tensor:
        check_embeddings("query", query)
        check_embeddings("key", key)
        check_same_rows(query=query, key=key)
        if query.shape[1] != key.shape[1]:
            raise InputError(
                f"query and key dimensions differ: {tuple(query.shape)} vs {tuple(key.shape)}"
            )
        if isinstance(negatives, MemoryQueue):
            if negative_labels is None and negatives.with_labels:
                negative_labels = negatives.labels()
            negatives = negatives.keys()
        if negatives is not None:
            check_embeddings("negatives", negatives, min_rows=0)
            if negatives.shape[1] != query.shape[1]:
                raise InputError(
                    f"negatives have dimension {negatives.shape[1]}, queries {query.shape[1]}"
                )
            if self.symmetric:
                raise InputError("symmetric=True cannot use extra negatives (a queue has no queries)")
        forward = self._direction(query, key, negatives, query_labels, key_labels, negative_labels)
        if not self.symmetric:
            return forward
        backward = self._direction(key, query, None, key_labels, query_labels, None)
        return (forward + backward) / 2

    def _direction(
        self,
        query: Tensor,
        key: Tensor,
        negatives: Tensor | None,
        query_labels: Tensor | None,
        key_labels: Tensor | None,
        negative_labels: Tensor | None,
    ) -> Tensor:
        q = self.embed(query)
        g = distributed.gather(self.embed(key)) if self.gather else None
        keys = g.tensor if g is not None else self.embed(key)
        offset = g.offset if g is not None else 0
        n_pos_keys = int(keys.shape[0])
        if negatives is not None:
            keys = torch.cat([keys, self.embed(negatives).to(keys.dtype)])
        local = offset + torch.arange(q.shape[0], device=q.device)
        if self._sampler is None:
            terms = contrast_terms(
                q, keys, self.tau(), positive_index=local, block_size=self.block_size
            )
            return self.reduce(terms)
        terms = self._sampled_terms(
            q, keys, local, n_pos_keys, query_labels, key_labels, negative_labels, negatives
        )
        return self.reduce(terms)

    def _sampled_terms(
        self,
        q: Tensor,
        keys: Tensor,
        local: Tensor,
        n_pos_keys: int,
        query_labels: Tensor | None,
        key_labels: Tensor | None,
        negative_labels: Tensor | None,
        negatives: Tensor | None,
    ) -> ContrastTerms:
        assert self._sampler is not None
        n_neg = int(keys.shape[0]) - n_pos_keys
        key_ids = torch.cat(
            [torch.arange(n_pos_keys, device=q.device),
             torch.full((n_neg,), -1, device=q.device, dtype=torch.long)]
        )
        all_key_labels = None
        if key_labels is not None:
            if key_labels.shape[0] != q.shape[0]:
                raise InputError(
                    f"key_labels has {key_labels.shape[0]} entries but the batch has {q.shape[0]} rows"
                )
            all_key_labels = distributed.gather_no_grad(key_labels).tensor if self.gather else key_labels
            if negatives is not None:
                if negative_labels is None:
                    raise InputError(
                        f"sampler {self._sampler!r} needs labels for the extra negatives too "
                        "(negative_labels=..., or a MemoryQueue made with with_labels=True)"
                    )
                all_key_labels = torch.cat([all_key_labels, negative_labels.to(all_key_labels)])
        pairs = self._sampler.bind(
            q, keys, query_ids=local, key_ids=key_ids,
            query_labels=query_labels, key_labels=all_key_labels,
        )
        return contrast_terms(
            q, keys, self.tau(), pairs=pairs, block_size=self.block_size,
            empty_positives=self.empty_positives,
        )

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        q = torch.randn(6, 4, generator=generator)
        k = q + 0.5 * torch.randn(6, 4, generator=generator)
        neg = torch.randn(5, 4, generator=generator)
        y = torch.tensor([0, 1, 0, 1, 2, 2])
        return [
            LossExample(init={}, args=(q, k)),
            LossExample(init={"symmetric": True, "temperature": 0.2}, args=(q, k)),
            LossExample(init={"block_size": 4}, args=(q, k), kwargs={"negatives": neg},
                        grad_args=(0, 1)),
            LossExample(
                init={"sampler": "labels"}, args=(q, k),
                kwargs={"query_labels": y, "key_labels": y},
                batch_kwargs=("query_labels", "key_labels"),
            ),
            LossExample(
                init={"sampler": {"name": "hard_negatives", "k": 2}}, args=(q, k),
            ),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        q = torch.randn(4, 3, generator=generator)
        y = torch.tensor([0, 1, 2, 3])
        return [
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({"sampler": "no_such_sampler"}, None, "no sampler named"),
            BadInput({}, (q, q[:2]), "batch sizes differ"),
            BadInput({}, (q, torch.randn(4, 5)), "dimensions differ"),
            BadInput({"symmetric": True}, (q, q), "symmetric", kwargs={"negatives": q}),
            BadInput({"sampler": "labels"}, (q, q), "needs query_labels"),
            BadInput(
                {"sampler": "labels"}, (q, q), "labels has 3 entries",
                kwargs={"query_labels": y[:3], "key_labels": y},
            ),
            BadInput(
                {"sampler": "labels"}, (q, q), "no positive",
                kwargs={"query_labels": y, "key_labels": torch.tensor([5, 6, 7, 8])},
                why="no key shares a query's label",
            ),
        ]
