"""CL4SRec's contrastive term."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.contract import BadInput, LossExample
from concord.losses.base import Loss
from concord.losses.nt_xent import NTXent
from concord.validation import check_positive
from concord_sequence.losses.similarity import check_similarity

__all__ = ["CL4SRecLoss"]


class CL4SRecLoss(Loss):
    r"""The contrastive term of CL4SRec (Xie et al. 2022, `Contrastive Learning for Sequential
    Recommendation <https://arxiv.org/abs/2010.14395>`_, Eq. 4), on the representations of two
    augmented views of each sequence in a batch of :math:`N`:

    .. math::
        \mathcal{L}_{cl}(s_u^{a_i}, s_u^{a_j}) = -\log
            \frac{\exp(\mathrm{sim}(s_u^{a_i}, s_u^{a_j}) / \tau)}
                 {\exp(\mathrm{sim}(s_u^{a_i}, s_u^{a_j}) / \tau) + \sum_{s^- \in S^-}
                  \exp(\mathrm{sim}(s_u^{a_i}, s^-) / \tau)}

    where :math:`S^-` are the other :math:`2(N-1)` views in the batch -- the SimCLR 2N form, so
    this is the core's :class:`~concord.losses.nt_xent.NTXent` (averaged over the :math:`2N`
    anchors, as ``nn.CrossEntropyLoss`` over the official code's ``info_nce`` logits is). The
    training objective is :math:`\mathcal{L}_{rec} + \lambda \mathcal{L}_{cl}` (Eq. 5); the
    weight lives in the trainer.

    Args:
        temperature: :math:`\tau` (default: ``1.0``, DuoRec's and MCLRec's CL4SRec setting).
        similarity: ``"dot"`` (inner product, the papers' and official code's default) or
            ``"cos"`` (default: ``"dot"``).
        gather: contrast against every process's batch (default: ``False``).

    Shapes:
        z1, z2: ``(N, D)``. Output: scalar.
    """

    registry_name = "sequence.cl4srec"
    invariances = ("permutation",)

    def __init__(self, *, temperature: float = 1.0, similarity: str = "dot", gather: bool = False) -> None:
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        self.similarity = check_similarity(similarity)
        self.gather = bool(gather)
        self._nt_xent = NTXent(temperature=self.temperature, normalize=self.similarity == "cos",
                               gather=self.gather)

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        return self._nt_xent(z1, z2)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z1 = torch.randn(8, 6, generator=generator)
        z2 = z1 + 0.5 * torch.randn(8, 6, generator=generator)
        return [LossExample(init={}, args=(z1, z2)),
                LossExample(init={"similarity": "cos", "temperature": 0.2}, args=(z1, z2))]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"similarity": "l2"}, None, "similarity must be one of"),
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({}, (z, z[:3]), "batch sizes differ"),
            BadInput({}, (z[:1], z[:1]), "at least 2 samples"),
        ]
