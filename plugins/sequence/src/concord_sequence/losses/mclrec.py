"""MCLRec's contrastive objective."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from concord.contract import BadInput, LossExample
from concord.losses.base import Loss
from concord.losses.nt_xent import NTXent
from concord.validation import check_positive
from concord_sequence.losses.margin_regularizer import MarginRegularizer
from concord_sequence.losses.similarity import check_similarity

__all__ = ["MCLRecLoss", "MCLRecTerms"]


@dataclass(frozen=True)
class MCLRecTerms:
    """``cl``: data views; ``mcl``: the three terms with model-augmented views; ``reg``: R."""

    cl: Tensor
    mcl: Tensor
    reg: Tensor


class MCLRecLoss(Loss):
    r"""MCLRec's contrastive terms (Qin et al. 2023, `Meta-optimized Contrastive Learning for
    Sequential Recommendation <https://arxiv.org/abs/2304.07763>`_, Sec. 3.2-3.5). Two data-augmented
    views of a sequence give :math:`h^1, h^2`; learnable augmenters give
    :math:`\tilde h^1 = g_{\phi_1}(h^1)`, :math:`\tilde h^2 = g_{\phi_2}(h^2)`. With
    :math:`\ell` the 2N-sample InfoNCE (:class:`~concord.losses.nt_xent.NTXent`):

    .. math::
        \mathcal{L}_{cl} = \ell(h^1, h^2), \qquad
        \mathcal{L}_{mcl} = \ell(h^1, \tilde h^2) + \ell(h^2, \tilde h^1) + \ell(\tilde h^1, \tilde h^2)
          + w_R \big[\mathcal{R}(h^1, \tilde h^2) + \mathcal{R}(h^2, \tilde h^1) + \mathcal{R}(\tilde h^1, \tilde h^2)\big]

    (:math:`\mathcal{R}`: :class:`~concord_sequence.losses.margin_regularizer.MarginRegularizer`).
    ``forward`` returns the encoder's objective :math:`\lambda \mathcal{L}_{cl} + \beta \mathcal{L}_{mcl}`
    (add :math:`\mathcal{L}_{rec}` for the total); the augmenters' meta objective is
    :math:`\lambda \mathcal{L}_{cl} + \mathcal{L}_{mcl}` (:meth:`meta_objective`), as in the official
    code's step 2. As the official code, the data-view term uses ``temperature`` while the three
    model-augmented terms use :math:`\tau = 1` with the dot product (``meta_temperature``).

    Args:
        lmd: :math:`\lambda` (default: ``0.0``, the official ``MCLRec.yaml``).
        beta: :math:`\beta` (default: ``0.01``, the official ``MCLRec.yaml``).
        reg_weight: :math:`w_R`, the weight of :math:`\mathcal{R}` (default: ``0.1``, hard-coded in
            the official code; ``0`` switches R off, ``use_rl=0``).
        temperature: :math:`\tau` of :math:`\mathcal{L}_{cl}` and R (default: ``1.0``).
        meta_temperature: :math:`\tau` of the three model-augmented terms (default: ``1.0``).
        similarity: ``"dot"`` or ``"cos"`` for :math:`\mathcal{L}_{cl}` (default: ``"dot"``).
        gather: contrast against every process's batch (default: ``False``).

    Shapes:
        h1, h2, a1, a2: ``(N, D)`` (``a1 = g1(h1)``, ``a2 = g2(h2)``). Output: scalar.
    """

    registry_name = "sequence.mclrec"
    invariances = ("permutation",)

    def __init__(self, *, lmd: float = 0.0, beta: float = 0.01, reg_weight: float = 0.1,
                 temperature: float = 1.0, meta_temperature: float = 1.0, similarity: str = "dot",
                 gather: bool = False) -> None:
        super().__init__()
        self.lmd = check_positive("lmd", lmd, allow_zero=True)
        self.beta = check_positive("beta", beta, allow_zero=True)
        self.reg_weight = check_positive("reg_weight", reg_weight, allow_zero=True)
        self.temperature = check_positive("temperature", temperature)
        self.meta_temperature = check_positive("meta_temperature", meta_temperature)
        self.similarity = check_similarity(similarity)
        self.gather = bool(gather)
        self._cl = NTXent(temperature=self.temperature, normalize=self.similarity == "cos", gather=self.gather)
        self._meta = NTXent(temperature=self.meta_temperature, normalize=False, gather=self.gather)
        self._reg = MarginRegularizer(temperature=self.temperature, similarity="dot", gather=self.gather)

    def terms(self, h1: Tensor, h2: Tensor, a1: Tensor, a2: Tensor) -> MCLRecTerms:
        cl = self._cl(h1, h2)
        pairs = ((h1, a2), (h2, a1), (a1, a2))
        mcl = sum(self._meta(x, y) for x, y in pairs)
        reg = sum(self._reg(x, y) for x, y in pairs) if self.reg_weight > 0 else torch.zeros((), device=h1.device)
        return MCLRecTerms(cl=cl, mcl=mcl + self.reg_weight * reg, reg=reg)

    def forward(self, h1: Tensor, h2: Tensor, a1: Tensor, a2: Tensor) -> Tensor:
        t = self.terms(h1, h2, a1, a2)
        return self.lmd * t.cl + self.beta * t.mcl

    def meta_objective(self, h1: Tensor, h2: Tensor, a1: Tensor, a2: Tensor) -> Tensor:
        t = self.terms(h1, h2, a1, a2)
        return self.lmd * t.cl + t.mcl

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        h1 = torch.randn(6, 4, generator=generator)
        h2 = h1 + 0.3 * torch.randn(6, 4, generator=generator)
        a1 = torch.nn.functional.normalize(h1 + 0.2 * torch.randn(6, 4, generator=generator), dim=1)
        a2 = torch.nn.functional.normalize(h2 + 0.2 * torch.randn(6, 4, generator=generator), dim=1)
        return [LossExample(init={"lmd": 0.1, "beta": 0.1}, args=(h1, h2, a1, a2)),
                LossExample(init={"lmd": 0.5, "beta": 1.0, "reg_weight": 0.0, "similarity": "cos"},
                            args=(h1, h2, a1, a2))]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [BadInput({"lmd": -1.0}, None, "lmd"), BadInput({"beta": float("nan")}, None, "beta"),
                BadInput({}, (z, z, z, z[:3]), "batch sizes differ")]
