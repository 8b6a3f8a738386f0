"""NT-Xent (SimCLR)."""

from __future__ import annotations

import torch
from torch import Tensor

from concord.contract import BadInput, LossExample
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import contrast_terms
from concord.losses.two_view import check_two_views, two_view_batch

__all__ = ["NTXent"]


class NTXent(ContrastiveLoss):
    r"""The normalized temperature-scaled cross-entropy loss of SimCLR
    (Chen et al. 2020, `A Simple Framework for Contrastive Learning of Visual Representations
    <https://arxiv.org/abs/2002.05709>`_, Eq. 1 and Algorithm 1).

    Over the :math:`2N` embeddings of two views, the positive of each is its other view and the
    :math:`2N - 2` others are negatives (intra- and inter-view):

    .. math::
        \ell_{i,j} = -\log \frac{\exp(\mathrm{sim}(z_i, z_j)/\tau)}
                                {\sum_{k=1}^{2N} \mathbb{1}_{[k \ne i]} \exp(\mathrm{sim}(z_i, z_k)/\tau)},
        \qquad \mathcal{L} = \frac{1}{2N} \sum_{k=1}^{N} \left[\ell(2k-1, 2k) + \ell(2k, 2k-1)\right]

    with :math:`\mathrm{sim}` the cosine similarity. Equal to pytorch-metric-learning's
    ``NTXentLoss`` on ``cat(z1, z2)`` with labels ``cat(arange(N), arange(N))`` (tested).

    Args:
        temperature: :math:`\tau` (default: ``0.5``; SimCLR uses 0.5 on CIFAR-10, 0.1 on ImageNet).
        learn_temperature: learn :math:`\log\tau` (default: ``False``).
        normalize: cosine similarity (default: ``True``).
        gather: contrast against both views of every process's batch (default: ``False``).
        block_size: queries per checkpointed block (default: ``None``, one block).

    Shapes:
        z1, z2: ``(N, D)``, row ``i`` of each the two views of sample ``i``. Output: scalar.
    """

    registry_name = "nt_xent"

    def __init__(
        self,
        *,
        temperature: float = 0.5,
        learn_temperature: bool = False,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=learn_temperature, normalize=normalize,
            gather=gather, block_size=block_size, empty_positives="error",
        )

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        check_two_views(z1, z2)
        b = two_view_batch(self.embed(z1), self.embed(z2), gather=self.gather)
        terms = contrast_terms(
            b.query, b.key, self.tau(), positive_index=b.positive_index,
            self_index=b.self_index, block_size=self.block_size,
        )
        return self.reduce(terms)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z1 = torch.randn(8, 5, generator=generator)
        z2 = z1 + 0.3 * torch.randn(8, 5, generator=generator)
        return [
            LossExample(init={}, args=(z1, z2)),
            LossExample(init={"temperature": 0.1, "block_size": 3}, args=(z1, z2)),
            LossExample(init={"learn_temperature": True}, args=(z1, z2)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({"temperature": -1.0}, None, "temperature"),
            BadInput({}, (z, z[:3]), "batch sizes differ"),
            BadInput({}, (z, torch.randn(4, 2, generator=generator)), "dimensions differ"),
            BadInput({}, (z[:1], z[:1]), "at least 2 samples"),
            BadInput({}, (z[0], z[0]), "2-D"),
        ]
