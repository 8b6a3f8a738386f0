"""Tolerance to semantically similar samples (Wang & Liu 2021)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.errors import InputError
from concord.validation import check_embeddings, check_labels

__all__ = ["tolerance"]


def tolerance(
    x: Tensor, labels: Tensor, *, include_self: bool = False, normalize: bool = True
) -> Tensor:
    r"""Tolerance (Wang & Liu 2021, `Understanding the Behaviour of Contrastive Loss
    <https://arxiv.org/abs/2012.09740>`_, Sec. 4): how close the embeddings of samples of the
    same class are -- the mean cosine similarity over same-class pairs,

    .. math::
        T = \frac{\sum_{x, y \in D} f(x)^\top f(y)\, \mathbb{1}[l(x) = l(y)]}
                 {\sum_{x, y \in D} \mathbb{1}[l(x) = l(y)]}

    A small temperature makes a contrastive loss uniform but *intolerant* (same-class samples
    pushed apart: low :math:`T`); the paper reads the two together. The paper sums over all
    pairs :math:`x, y \in D` and divides by the number of samples; here the sum is divided by
    the number of same-class pairs, so :math:`T` is a mean similarity in :math:`[-1, 1]` that
    does not grow with the class sizes, and the self pairs (similarity 1 whatever the model)
    are left out unless ``include_self=True``.

    Args:
        include_self: count :math:`x = y` pairs (default: ``False``).
        normalize: L2-normalise the rows first (default: ``True``).

    Shapes:
        x: ``(N, D)``; labels: ``(N,)`` integers. Output: scalar.
    """
    check_embeddings("x", x)
    labels = check_labels("labels", labels, int(x.shape[0]))
    x = x.float()
    if normalize:
        x = nn.functional.normalize(x, dim=1)
    same = labels[:, None] == labels[None, :]
    if not include_self:
        same = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    if not bool(same.any()):
        raise InputError("no two samples share a label: tolerance is undefined for this batch")
    sim = x @ x.T
    return (sim * same).sum() / same.sum()
