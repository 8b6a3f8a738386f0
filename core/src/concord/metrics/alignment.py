"""Alignment of positive pairs (Wang & Isola 2020)."""

from __future__ import annotations

from torch import Tensor, nn

from concord.errors import InputError
from concord.validation import check_embeddings, check_positive

__all__ = ["alignment"]


def alignment(x: Tensor, y: Tensor, *, alpha: float = 2.0, normalize: bool = True) -> Tensor:
    r"""Alignment (Wang & Isola 2020, `Understanding Contrastive Representation Learning through
    Alignment and Uniformity on the Hypersphere <https://arxiv.org/abs/2005.10242>`_, Sec. 4.1):
    the expected distance between the embeddings of a positive pair,

    .. math::
        \mathcal{L}_{align}(f; \alpha) = \mathbb{E}_{(x, y) \sim p_{pos}}
            \lVert f(x) - f(y) \rVert_2^{\alpha}

    estimated over the rows of ``x`` and ``y`` (row ``i`` of each is a positive pair). Lower is
    better aligned; on the unit sphere it lies in :math:`[0, 2^\alpha]`.

    Args:
        alpha: :math:`\alpha > 0` (default: ``2``, the paper's choice).
        normalize: L2-normalise the rows first (default: ``True``; the definition is on the
            sphere).

    Shapes:
        x, y: ``(N, D)``. Output: scalar (differentiable).
    """
    check_embeddings("x", x)
    check_embeddings("y", y)
    if x.shape != y.shape:
        raise InputError(f"x and y shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    alpha = check_positive("alpha", alpha)
    x, y = x.float(), y.float()
    if normalize:
        x, y = nn.functional.normalize(x, dim=1), nn.functional.normalize(y, dim=1)
    return (x - y).norm(p=2, dim=1).pow(alpha).mean()
