"""Supervised contrastive loss (SupCon)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss, SamplerSpec, _build_sampler
from concord.losses.contrast import contrast_terms
from concord.samplers.views import ViewsSampler
from concord.validation import check_choice, check_embeddings, check_labels, check_positive

__all__ = ["SupCon"]


class SupCon(ContrastiveLoss):
    r"""Supervised contrastive loss, :math:`L^{sup}_{out}` (Khosla et al. 2020, `Supervised
    Contrastive Learning <https://arxiv.org/abs/2004.11362>`_, Eq. 2):

    .. math::
        \mathcal{L}^{sup}_{out} = \sum_{i \in I} \frac{-1}{|P(i)|} \sum_{p \in P(i)}
            \log \frac{\exp(z_i \cdot z_p / \tau)}{\sum_{a \in A(i)} \exp(z_i \cdot z_a / \tau)}

    over the :math:`I = N \cdot V` views of a batch; :math:`A(i)` is every view but :math:`i`,
    :math:`P(i) \subset A(i)` the views with :math:`i`'s label. Without labels it reduces to
    SimCLR's loss (positives are the other views of the same sample). We report the mean over
    anchors rather than the sum, as the reference code does; ``base_temperature`` reproduces the
    reference code's extra factor :math:`\tau / \tau_{base}` (1 when left at ``None``).

    Departure from the reference code: an anchor without any positive (a class seen once, one
    view) makes the reference count a zero in the mean; here it raises unless
    ``empty_positives="ignore"``, which leaves such anchors out of the mean.

    Args:
        temperature: :math:`\tau` (default: ``0.07``, as the paper).
        base_temperature: :math:`\tau_{base}` (default: ``None``, no extra factor).
        contrast_mode: ``"all"`` (every view is an anchor) or ``"one"`` (only view 0).
        sampler: positives by label (default ``"labels"`` when labels are given, the views of
            the same sample otherwise); e.g. ``{"name": "label_distance", "window": 0.5}`` for
            continuous labels.
        learn_temperature, normalize, gather, block_size, empty_positives: see
            :class:`~concord.losses.base.ContrastiveLoss`.

    Shapes:
        features: ``(N, V, D)`` or ``(N, D)`` (one view); labels: ``(N,)``. Output: scalar.
    """

    registry_name = "sup_con"

    def __init__(
        self,
        *,
        temperature: float = 0.07,
        base_temperature: float | None = None,
        contrast_mode: Literal["all", "one"] = "all",
        sampler: SamplerSpec = None,
        learn_temperature: bool = False,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
        empty_positives: Literal["error", "ignore"] = "error",
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=learn_temperature, normalize=normalize,
            gather=gather, block_size=block_size, empty_positives=empty_positives,
        )
        if base_temperature is not None:
            check_positive("base_temperature", base_temperature)
        self.base_temperature = base_temperature
        self.contrast_mode = check_choice("contrast_mode", contrast_mode, ("all", "one"))
        self.sampler = sampler
        self._sampler = _build_sampler(sampler)

    def forward(self, features: Tensor, labels: Tensor | None = None) -> Tensor:
        check_embeddings("features", features, ndim=(2, 3))
        if features.dim() == 2:
            features = features[:, None, :]
        n, v, _ = features.shape
        sampler = self._sampler
        continuous = sampler is not None and sampler.label_kind() == "continuous"
        if labels is not None:
            labels = check_labels("labels", labels, n, continuous=continuous)
            if sampler is None:
                sampler = self._labels_sampler()
        elif sampler is not None and sampler.label_kind() is not None:
            raise InputError(f"sampler {sampler!r} needs labels: call loss(features, labels)")
        if sampler is None:
            sampler = ViewsSampler()
            if v < 2:
                raise InputError(
                    "without labels SupCon needs at least 2 views per sample (features of shape "
                    f"(N, V>=2, D)), got {tuple(features.shape)}"
                )

        z = self.embed(features)
        g = distributed.gather(z) if self.gather else None
        keys3 = g.tensor if g is not None else z
        offset = g.offset if g is not None else 0
        n_global = int(keys3.shape[0])
        dev = z.device
        # View-major flattening: row v * N + i holds view v of sample i.
        keys = keys3.transpose(0, 1).reshape(v * n_global, -1)
        key_ids = torch.arange(n_global, device=dev).repeat(v)
        anchor_views = v if self.contrast_mode == "all" else 1
        query = z[:, :anchor_views].transpose(0, 1).reshape(anchor_views * n, -1)
        local = offset + torch.arange(n, device=dev)
        query_ids = local.repeat(anchor_views)
        self_index = torch.cat([k * n_global + local for k in range(anchor_views)])
        key_labels = query_labels = None
        if labels is not None:
            all_labels = distributed.gather_no_grad(labels).tensor if self.gather else labels
            key_labels = all_labels.repeat(v)
            query_labels = labels.repeat(anchor_views)
        pairs = sampler.bind(
            query, keys, query_ids=query_ids, key_ids=key_ids, self_index=self_index,
            query_labels=query_labels, key_labels=key_labels,
        )
        terms = contrast_terms(
            query, keys, self.tau(), pairs=pairs, block_size=self.block_size,
            empty_positives=self.empty_positives,
        )
        loss = self.reduce(terms)
        if self.base_temperature is not None:
            loss = loss * (self.tau() / self.base_temperature)
        return loss

    @staticmethod
    def _labels_sampler():
        from concord.samplers.labels import LabelsSampler

        return LabelsSampler()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        f = torch.randn(6, 2, 5, generator=generator)
        y = torch.tensor([0, 1, 0, 1, 2, 2])
        return [
            LossExample(init={}, args=(f, y)),
            LossExample(init={}, args=(f,)),
            LossExample(init={"contrast_mode": "one", "base_temperature": 0.1}, args=(f, y)),
            LossExample(init={"block_size": 5}, args=(f[:, 0], y)),
            LossExample(
                init={"sampler": {"name": "label_distance", "window": 0.3}},
                args=(f, torch.tensor([0.0, 0.2, 0.9, 1.0, 2.0, 2.5])),
                grad_args=(0,), scale_args=(0,),
            ),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        f = torch.randn(4, 2, 3, generator=generator)
        return [
            BadInput({"temperature": -0.1}, None, "temperature"),
            BadInput({"contrast_mode": "some"}, None, "contrast_mode"),
            BadInput({}, (f, torch.tensor([0, 1, 0])), "labels has 3 entries"),
            BadInput({}, (f, torch.tensor([0.5, 1.0, 0.5, 1.0])), "integer"),
            BadInput({}, (f[:, :1],), "at least 2 views"),
            BadInput({}, (f[:, 0], torch.tensor([0, 1, 2, 3])), "no positive",
                     why="single view, every label unique"),
            BadInput({}, (f[0, 0],), "2-D or 3-D"),
        ]
