"""GRACE / GCA: two graph views, one GCN encoder, a projection head and NT-Xent."""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.data import Data

from concord.losses.nt_xent import NTXent
from concord_graph.nn.gcn_encoder import GCNEncoder

__all__ = ["GRACE"]


class GRACE(nn.Module):
    r"""Deep Graph Contrastive Representation Learning (Zhu et al. 2020,
    `arXiv:2006.04131 <https://arxiv.org/abs/2006.04131>`_, Eq. 1-2); with GCA's adaptive
    augmentations (:mod:`concord_graph.augment`) it is GCA (Zhu et al. 2021).

    For embeddings :math:`u_i = g(f(\tilde{X}_1, \tilde{A}_1))_i` and
    :math:`v_i = g(f(\tilde{X}_2, \tilde{A}_2))_i` of two views (:math:`f` the GCN encoder,
    :math:`g` the projection head :math:`W_2\,\mathrm{ELU}(W_1 \cdot)`), :math:`\theta` the cosine
    similarity,

    .. math::
        \ell(u_i, v_i) = -\log \frac{e^{\theta(u_i, v_i)/\tau}}
            {e^{\theta(u_i, v_i)/\tau} + \sum_{k \ne i} e^{\theta(u_i, v_k)/\tau}
             + \sum_{k \ne i} e^{\theta(u_i, u_k)/\tau}}, \qquad
        \mathcal{J} = \frac{1}{2N} \sum_{i=1}^{N} \left[\ell(u_i, v_i) + \ell(v_i, u_i)\right],

    inter- and intra-view negatives, symmetric. This is exactly the core's
    :class:`~concord.losses.NTXent` on ``(u, v)`` (tested against the formula written out), so
    GRACE inherits its blocked computation (``block_size``: memory ``O(block x 2N)``, never
    ``N x N``) and its cross-process gathering (``gather``). Any other two-view loss
    ``loss(u, v) -> scalar`` can take its place (``loss=``; the CLI builds it from the registry
    by ``loss.name``).

    Args:
        encoder: the :class:`~concord_graph.nn.GCNEncoder` :math:`f`.
        projection_channels: hidden width of :math:`g` (default: ``128``).
        loss: the two-view loss on the projections (default: ``None``, GRACE's NT-Xent with
            the three arguments below).
        temperature: :math:`\tau` of the default loss (default: ``0.5``).
        block_size: queries per block of the default loss (default: ``None``, one block).
        gather: the default loss contrasts against the nodes of every process (default:
            ``False``).

    Shapes:
        embeddings ``(N, out)``; the loss is a scalar.
    """

    def __init__(self, encoder: GCNEncoder, *, projection_channels: int = 128, loss: nn.Module | None = None,
                 temperature: float = 0.5, block_size: int | None = None, gather: bool = False) -> None:
        super().__init__()
        self.encoder = encoder
        out = encoder.out_channels
        self.fc1 = nn.Linear(out, projection_channels)
        self.fc2 = nn.Linear(projection_channels, out)
        self.loss_fn = loss if loss is not None else NTXent(temperature=temperature, block_size=block_size,
                                                            gather=gather)

    def forward(self, data: Data) -> Tensor:
        """Encoder embeddings :math:`f(X, A)` of a graph (what the linear probe reads)."""
        return self.encoder.encode(data)

    def project(self, h: Tensor) -> Tensor:
        return self.fc2(nn.functional.elu(self.fc1(h)))

    def contrast_loss(self, h1: Tensor, h2: Tensor) -> Tensor:
        """:math:`\\mathcal{J}` for encoder embeddings of the same nodes in two views."""
        return self.loss_fn(self.project(h1), self.project(h2))
