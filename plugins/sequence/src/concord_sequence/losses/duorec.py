"""DuoRec's contrastive regularization."""

from __future__ import annotations

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.contrast import contrast_terms
from concord.losses.nt_xent import NTXent
from concord.losses.two_view import check_two_views, two_view_batch
from concord.samplers.labels import LabelsSampler
from concord.validation import check_positive
from concord_sequence.losses.batch_mean import batch_mean
from concord_sequence.losses.similarity import check_similarity

__all__ = ["DuoRecLoss"]


class DuoRecLoss(Loss):
    r"""DuoRec's contrastive regularization (Qiu et al. 2022, `Contrastive Learning for
    Representation Degeneration Problem in Sequential Recommendation
    <https://arxiv.org/abs/2110.05730>`_, Sec. 4.3, Eq. 13-15): the representation
    :math:`h'` of a sequence under a second dropout mask ("model augmentation",
    unsupervised) is contrasted with :math:`h'_s`, that of another training sequence with the
    **same next item** ("supervised positive sampling"):

    .. math::
        \mathcal{L}_{Reg} = -\log \frac{\exp(\mathrm{sim}(h', h'_s)/\tau)}
            {\exp(\mathrm{sim}(h', h'_s)/\tau) + \sum_{h^-} \exp(\mathrm{sim}(h', h^-)/\tau)}

    over the 2N-sample layout (both directions; the other :math:`2(N-1)` representations are
    negatives), as the official code's ``ssl='us_x'`` mode computes it. The training objective is
    :math:`\mathcal{L}_{rec} + \lambda \mathcal{L}_{Reg}`.

    ``positives="same_target"`` instead makes *every* in-batch representation whose sequence
    has the same next item a positive (the core's ``labels`` sampler, SupCon's
    :math:`L_{out}` averaging), removing the false negatives the paper's form keeps. The
    default ``"pair"`` is the paper and official code.

    Args:
        temperature: :math:`\tau` (default: ``1.0``, the official Beauty setting).
        similarity: ``"dot"`` or ``"cos"`` (default: ``"dot"``).
        positives: ``"pair"`` or ``"same_target"`` (default: ``"pair"``).
        gather: contrast against every process's batch and average over the global batch
            (default: ``False``: this process's batch alone, as if it ran by itself, also under
            ``torchrun``).

    Shapes:
        h_dropout, h_same_target: ``(N, D)``; targets: ``(N,)`` next-item ids (needed for
        ``"same_target"``). Output: scalar.
    """

    registry_name = "sequence.duorec"
    invariances = ("permutation",)

    def __init__(self, *, temperature: float = 1.0, similarity: str = "dot",
                 positives: str = "pair", gather: bool = False) -> None:
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.similarity = check_similarity(similarity)
        if positives not in ("pair", "same_target"):
            raise InputError(f"positives must be 'pair' or 'same_target', got {positives!r}")
        self.positives = positives
        self.gather = bool(gather)
        self._pair = NTXent(temperature=self.temperature, normalize=self.similarity == "cos",
                            gather=self.gather)

    def forward(self, h_dropout: Tensor, h_same_target: Tensor, targets: Tensor | None = None) -> Tensor:
        if self.positives == "pair":
            return self._pair(h_dropout, h_same_target)
        check_two_views(h_dropout, h_same_target)
        if targets is None or not isinstance(targets, Tensor) or targets.shape != h_dropout.shape[:1]:
            raise InputError("positives='same_target' needs targets, a (N,) tensor of next-item ids")
        embed = self._pair.embed
        b = two_view_batch(embed(h_dropout), embed(h_same_target), gather=self.gather)
        labels = distributed.gather_no_grad(targets).tensor if self.gather else targets
        key_labels = torch.cat([labels, labels])
        local = torch.cat([targets, targets])
        pairs = LabelsSampler().bind(b.query, b.key, self_index=b.self_index,
                                     query_labels=local, key_labels=key_labels)
        terms = contrast_terms(b.query, b.key, self.temperature, pairs=pairs)
        return batch_mean(terms.sum(), terms.count(), gather=self.gather)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        h = torch.randn(8, 6, generator=generator)
        hs = h + 0.5 * torch.randn(8, 6, generator=generator)
        y = torch.tensor([3, 4, 3, 5, 6, 4, 7, 8])
        return [
            LossExample(init={}, args=(h, hs)),
            LossExample(init={"positives": "same_target", "similarity": "cos", "temperature": 0.5},
                        args=(h, hs, y)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"positives": "all"}, None, "positives must be"),
            BadInput({"positives": "same_target"}, (z, z), "needs targets"),
            BadInput({}, (z, z[:2]), "batch sizes differ"),
        ]
