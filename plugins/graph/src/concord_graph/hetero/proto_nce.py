"""The prototypical contrastive term of MEOW (PCL's ProtoNCE)."""

from __future__ import annotations

from torch import Tensor, nn

from concord.errors import InputError
from concord_graph.hetero.prototypes import Clustering

__all__ = ["proto_nce"]


def proto_nce(z: Tensor, clusterings: list[Clustering]) -> Tensor:
    r"""ProtoNCE (Li et al. 2021, `PCL <https://arxiv.org/abs/2005.04966>`_, Eq. 11, prototype
    part), averaged over the :math:`M` clusterings:

    .. math::
        \mathcal{L}_{\mathrm{proto}} = \frac{1}{M} \sum_{m=1}^{M} \frac{1}{N} \sum_i
            -\log \frac{\exp(z_i \cdot c^m_{s(i)} / \phi^m_{s(i)})}{\sum_{j} \exp(z_i \cdot c^m_j / \phi^m_j)}.

    MEOW's code divides by the mean over prototypes times :math:`N` instead of the sum (a constant
    shift of the loss, same gradients); this is PCL's form. ``z`` is L2-normalised here.

    Shapes:
        z ``(N, D)`` -> scalar.
    """
    if not clusterings:
        raise InputError("proto_nce needs at least one clustering")
    z = nn.functional.normalize(z, dim=-1)
    total = z.new_zeros(())
    for c in clusterings:
        logits = (z @ c.centroids.t()) / c.density[None, :]
        total = total + nn.functional.cross_entropy(logits, c.assignment)
    return total / len(clusterings)
