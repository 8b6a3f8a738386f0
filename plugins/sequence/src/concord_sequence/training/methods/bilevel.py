r"""The exact hypergradient of MCLRec's augmenters in a one-step unrolled bilevel problem.

.. math::
    F(\phi) = \mathcal{L}_{meta}(\theta'(\phi), \phi), \qquad
    \theta'(\phi) = \theta - \eta \nabla_\theta \mathcal{L}_{enc}(\theta, \phi)

(second order: the gradient flows through :math:`\theta'`, as in MetAug, Li et al. 2022). The
official MCLRec trainer's first-order alternation drops the :math:`\partial\theta'/\partial\phi`
term. Tested against finite differences of :math:`F`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call

from concord_sequence.data.batch import SequenceBatch
from concord_sequence.losses.mclrec import MCLRecLoss
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.rec_loss import rec_loss

__all__ = ["unrolled_hypergradient"]


def unrolled_hypergradient(model: SASRec, augmenters: tuple[nn.Module, nn.Module], loss: MCLRecLoss,
                           batch: SequenceBatch, targets: Tensor, v1: SequenceBatch, v2: SequenceBatch,
                           *, step: float, device: torch.device) -> tuple[float, list[Tensor]]:
    r""":math:`F(\phi)` and :math:`\nabla_\phi F` for the augmenters' parameters :math:`\phi`
    (in ``augmenters[0].parameters()`` then ``augmenters[1].parameters()`` order);
    :math:`\eta` = ``step``, :math:`\mathcal{L}_{enc} = \mathcal{L}_{rec} + ` ``loss(...)`` and
    :math:`\mathcal{L}_{meta}` = ``loss.meta_objective(...)``."""
    # the fused CPU attention kernels have no double backward; the math kernel does
    from torch.nn.attention import SDPBackend, sdpa_kernel

    aug1, aug2 = augmenters
    aug_params = [*aug1.parameters(), *aug2.parameters()]
    names = [n for n, _ in model.named_parameters()]
    params = dict(model.named_parameters())

    def enc(p: dict[str, Tensor], b: SequenceBatch) -> Tensor:
        return functional_call(model, p, (b.items.to(device), b.lengths.to(device)))

    def weights(p: dict[str, Tensor]) -> Tensor:
        return p["item_embedding.weight"][1 : model.n_items + 1]

    with sdpa_kernel(SDPBackend.MATH):
        h = enc(params, batch)
        h1, h2 = enc(params, v1), enc(params, v2)
        inner = rec_loss(h, weights(params), targets) + loss(h1, h2, aug1(h1), aug2(h2))
        grads = torch.autograd.grad(inner, [params[n] for n in names], create_graph=True, allow_unused=True)
        unrolled = {n: params[n] - step * g if g is not None else params[n] for n, g in zip(names, grads)}
        g1, g2 = enc(unrolled, v1), enc(unrolled, v2)
        outer = loss.meta_objective(g1, g2, aug1(g1), aug2(g2))
        hyper = torch.autograd.grad(outer, aug_params)
    return float(outer.detach()), [g.detach() for g in hyper]
