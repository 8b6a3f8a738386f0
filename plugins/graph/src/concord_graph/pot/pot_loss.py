"""The POT loss: binary cross-entropy pushing node compactness up."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.validation import check_finite

__all__ = ["POTLoss"]


class POTLoss(Loss):
    r"""POT's regulariser (Yu et al. 2023, `Provable Training for Graph Contrastive Learning
    <https://arxiv.org/abs/2309.13944>`_, Sec. 4.3): binary cross-entropy with logits
    between the node compactness score :math:`\tilde{f}_i` and the target 1 (the authors'
    ``nn.BCEWithLogitsLoss`` against ones, ``GRACE/model.py`` lines 195-196),

    .. math::
        \mathcal{L}_{\mathrm{POT}} = \frac{1}{N} \sum_i -\log \operatorname{sigmoid}(\tilde{f}_i)
        = \frac{1}{N} \sum_i \log\left(1 + e^{-\tilde{f}_i}\right),

    added to the contrastive loss as :math:`(1 - \kappa)\,\mathcal{L}_{\mathrm{InfoNCE}} + \kappa\,
    \mathcal{L}_{\mathrm{POT}}` (the trainer applies :math:`\kappa`). The compactness comes from
    :func:`concord_graph.pot.authors_compactness` (``pot.bound: authors``) or
    :func:`concord_graph.pot.certified_compactness` (``pot.bound: certified``).

    Args:
        gather: average over the nodes of every process (default: ``False``).

    Shapes:
        compactness ``(N,)`` -> scalar.
    """

    registry_name = "graph.pot"
    invariances = ("permutation",)
    half_precision = ("bf16", "fp16")

    def __init__(self, *, gather: bool = False) -> None:
        super().__init__()
        self.gather = bool(gather)

    def forward(self, compactness: Tensor) -> Tensor:
        if not isinstance(compactness, Tensor) or compactness.dim() != 1 or not compactness.is_floating_point():
            shape = tuple(compactness.shape) if isinstance(compactness, Tensor) else type(compactness).__name__
            raise InputError(f"compactness must be a 1-D floating-point tensor (one value per node), got {shape}")
        if compactness.shape[0] == 0:
            raise InputError("compactness is empty: no node to regularise")
        check_finite("compactness", compactness)
        terms = nn.functional.softplus(-compactness.float())
        if self.gather:
            return distributed.global_mean(terms.sum(), terms.shape[0])
        return terms.mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        c = 2.0 * torch.randn(9, generator=generator)
        return [LossExample(init={}, args=(c,)), LossExample(init={"gather": True}, args=(c,))]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({}, (torch.randn(3, 2, generator=generator),), "1-D"),
            BadInput({}, (torch.zeros(0),), "empty"),
            BadInput({}, (torch.tensor([1, 2]),), "floating-point"),
        ]
