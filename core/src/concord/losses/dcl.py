"""Decoupled contrastive learning: DCL and DCLW."""

from __future__ import annotations

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import contrast_terms
from concord.losses.two_view import check_two_views, two_view_batch
from concord.validation import check_positive

__all__ = ["DCL", "DCLW"]


class DCL(ContrastiveLoss):
    r"""Decoupled contrastive loss (Yeh et al. 2022, `Decoupled Contrastive Learning
    <https://arxiv.org/abs/2110.06848>`_, Eq. 6): NT-Xent with the positive removed from the
    denominator, which removes the negative-positive coupling that makes small batches hurt:

    .. math::
        \mathcal{L}^{(k)}_{DC,i} = -\langle z^{(k)}_i, z^{(k)}_j \rangle / \tau
            + \log \sum_{l \in \{1,2\},\ m \in [1,N],\ m \ne k}
              \exp(\langle z^{(k)}_i, z^{(m)}_l \rangle / \tau)

    for view :math:`i` of sample :math:`k` and its other view :math:`j`: the :math:`2N - 2`
    negatives of NT-Xent, no positive in the log-sum-exp. The paper sums over the :math:`2N`
    anchors; we average (as :class:`~concord.losses.nt_xent.NTXent` does), which only rescales
    the loss by :math:`1/2N` and keeps learning rates comparable across batch sizes.

    Args:
        temperature: :math:`\tau` (default: ``0.1``, the official code's default).
        learn_temperature, normalize, gather, block_size: see
            :class:`~concord.losses.base.ContrastiveLoss`.

    Shapes:
        z1, z2: ``(N, D)``. Output: scalar.
    """

    registry_name = "dcl"

    def __init__(
        self,
        *,
        temperature: float = 0.1,
        learn_temperature: bool = False,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=learn_temperature, normalize=normalize,
            gather=gather, block_size=block_size, empty_positives="error",
        )

    def positive_weight(self, z1: Tensor, z2: Tensor) -> Tensor | None:
        """Per-anchor weight of the positive term (``None``: 1)."""
        return None

    def forward(self, z1: Tensor, z2: Tensor) -> Tensor:
        check_two_views(z1, z2)
        e1, e2 = self.embed(z1), self.embed(z2)
        b = two_view_batch(e1, e2, gather=self.gather)
        weight = self.positive_weight(e1, e2)
        terms = contrast_terms(
            b.query, b.key, self.tau(), positive_index=b.positive_index,
            self_index=b.self_index, decoupled=True,
            positive_scale=None if weight is None else torch.cat([weight, weight]),
            block_size=self.block_size,
        )
        return self.reduce(terms)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z1 = torch.randn(8, 5, generator=generator)
        z2 = z1 + 0.3 * torch.randn(8, 5, generator=generator)
        return [
            LossExample(init={}, args=(z1, z2)),
            LossExample(init={"temperature": 0.5, "block_size": 5}, args=(z1, z2)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({}, (z, z[:2]), "batch sizes differ"),
            BadInput({}, (z[:1], z[:1]), "at least 2 samples"),
        ]


class DCLW(DCL):
    r"""DCL with the von Mises-Fisher weighting of the positive term (Yeh et al. 2022, Eq. 9):

    .. math::
        w_{pos}(z^{(k)}_1, z^{(k)}_2) = 2 - \frac{\exp(\langle z^{(k)}_1, z^{(k)}_2 \rangle / \sigma)}
            {\mathbb{E}_i\left[\exp(\langle z^{(i)}_1, z^{(i)}_2 \rangle / \sigma)\right]}
            = 2 - N \operatorname{softmax}_k\left(\langle z^{(k)}_1, z^{(k)}_2 \rangle / \sigma\right)

    multiplying :math:`-\langle z_i, z_j \rangle / \tau` of both anchors of sample :math:`k`:
    easy positives (already close) weigh less, hard ones more; the weights average to 1. The
    expectation runs over the global batch when ``gather=True``.

    Gradient of the weight. The paper writes Eq. 9 as the loss and says nothing about stopping
    its gradient. By default the weight is differentiated like the rest of the loss, as in the
    ``weight_fn`` of the implementation the paper's readers use (raminnakhli/Decoupled-
    Contrastive-Learning, ``loss/dcl.py``; lightly cites it as its model). With
    ``detach_weight=True`` the weight is computed on detached embeddings and only rescales the
    positive term's gradient -- lightly's ``negative_mises_fisher_weights``, which detaches
    (``out0.detach()``), a choice its authors made because the paper is silent on it. The loss
    values are the same; only the gradients differ.

    Args:
        sigma: :math:`\sigma` (default: ``0.5``, as the paper).
        temperature: :math:`\tau` (default: ``0.1``).
        detach_weight: stop the gradient through :math:`w_{pos}` (default: ``False``).
    """

    registry_name = "dclw"

    def __init__(
        self,
        *,
        sigma: float = 0.5,
        temperature: float = 0.1,
        detach_weight: bool = False,
        learn_temperature: bool = False,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=learn_temperature, normalize=normalize,
            gather=gather, block_size=block_size,
        )
        self.sigma = check_positive("sigma", sigma)
        self.detach_weight = bool(detach_weight)

    def positive_weight(self, z1: Tensor, z2: Tensor) -> Tensor:
        if self.detach_weight:
            z1, z2 = z1.detach(), z2.detach()
        s = (z1 * z2).sum(dim=1) / self.sigma
        if not self.gather:
            return 2 - s.numel() * torch.softmax(s, dim=0)
        # the softmax runs over the global batch; gather's backward returns to each rank the
        # weight-gradient of every rank's terms (the rule of concord.distributed)
        g = distributed.gather_no_grad(s) if self.detach_weight else distributed.gather(s)
        return (2 - g.tensor.numel() * torch.softmax(g.tensor, dim=0))[g.local]

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        plain = super().examples(generator)
        return [*plain, LossExample(init={"detach_weight": True}, args=plain[0].args)]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [*super().bad_inputs(generator), BadInput({"sigma": 0.0}, None, "sigma")]
