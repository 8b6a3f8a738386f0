"""Operating-Point-Inconsistency Score (OPIS): how much one threshold's behaviour varies over classes."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.errors import InputError
from concord.validation import check_embeddings, check_finite, check_labels, check_probability

__all__ = ["far_thresholds", "opis"]


def opis(
    embeddings: Tensor,
    labels: Tensor,
    thresholds: Tensor,
    *,
    class_weights: Tensor | None = None,
    normalize: bool = True,
    block_size: int = 1024,
) -> Tensor:
    r"""OPIS (Zhang et al. 2024, `Threshold-Consistent Margin Loss for Open-World Deep Metric
    Learning <https://arxiv.org/abs/2307.04047>`_): the variance across classes of the utility of
    a match threshold, averaged over a calibration range :math:`[d_{min}, d_{max}]`,

    .. math::
        \mathrm{OPIS} = \frac{\sum_{i=1}^{T} w_i \int_{d_{min}}^{d_{max}}
                \lVert U(i, d) - \bar{U}(d) \rVert^2 \,\mathrm{d}d}
            {\sum_{i=1}^{T} w_i \,(d_{max} - d_{min})}

    over the :math:`T` classes, :math:`U(i, d)` the utility of threshold :math:`d` on class
    :math:`i` and :math:`\bar{U}(d)` its utility on the whole set. 0 means one threshold behaves
    the same on every class.

    Here a pair is *accepted* at threshold :math:`d` when its cosine similarity is
    :math:`\ge d`. Class :math:`i`'s pairs are the ordered pairs whose first sample is in class
    :math:`i`: positives when the second is too, negatives otherwise, so
    :math:`\mathrm{TPR}_i(d)` is the accepted fraction of its positive pairs and
    :math:`\mathrm{TNR}_i(d)` the rejected fraction of its negative pairs; the utility is their
    harmonic mean :math:`U = 2\,\mathrm{TPR}\,\mathrm{TNR} / (\mathrm{TPR} + \mathrm{TNR})`
    (concord's choice of the F1-type utility), :math:`\bar{U}` the same from the pooled counts
    of every class. The integral is the trapezoidal rule on ``thresholds``. Classes without a
    positive pair (one sample) or without a negative pair are left out. Pairs are counted in
    blocks of ``block_size`` rows, so memory is ``O(block_size x N)``.

    Args:
        thresholds: increasing cosine-similarity thresholds sampling the calibration range
            (at least 2; :func:`far_thresholds` derives them from a false-accept-rate range).
        class_weights: :math:`w_i` per label value (indexed by label; default: all 1).
        normalize: L2-normalise the embeddings first (default: ``True``).

    Shapes:
        embeddings: ``(N, D)``; labels: ``(N,)`` non-negative integers; thresholds ``(K,)``.
        Output: scalar.
    """
    z, labels = _prepare(embeddings, labels, normalize)
    if not isinstance(thresholds, Tensor) or thresholds.dim() != 1 or thresholds.numel() < 2:
        raise InputError("thresholds must be a 1-D tensor of at least 2 similarity thresholds")
    t = check_finite("thresholds", thresholds).to(z.device, torch.float64)
    if not bool((t[1:] > t[:-1]).all()):
        raise InputError(f"thresholds must be strictly increasing, got {thresholds.tolist()}")
    n_classes = int(labels.max()) + 1
    w = torch.ones(n_classes, dtype=torch.float64, device=z.device)
    if class_weights is not None:
        if not isinstance(class_weights, Tensor) or class_weights.shape != (n_classes,):
            raise InputError(f"class_weights must have shape ({n_classes},) (one per label value)")
        check_finite("class_weights", class_weights)
        if bool((class_weights < 0).any()):
            raise InputError("class_weights must be non-negative")
        w = class_weights.to(z.device, torch.float64)

    pos_acc, pos_all, neg_acc, neg_all = _accept_counts(z, labels, t, n_classes, block_size)
    keep = (pos_all > 0) & (neg_all > 0) & (w > 0)
    if not bool(keep.any()):
        raise InputError("no class has both a positive and a negative pair (and a weight > 0)")
    u_class = _utility(pos_acc[keep] / pos_all[keep, None], 1 - neg_acc[keep] / neg_all[keep, None])
    u_all = _utility(pos_acc.sum(0) / pos_all.sum(), 1 - neg_acc.sum(0) / neg_all.sum())
    sq = (u_class - u_all[None, :]) ** 2
    integral = torch.trapezoid(sq, t, dim=1)
    wk = w[keep]
    return ((wk * integral).sum() / (wk.sum() * (t[-1] - t[0]))).to(torch.float32)


def far_thresholds(
    embeddings: Tensor,
    labels: Tensor,
    *,
    far_min: float = 1e-3,
    far_max: float = 1e-1,
    steps: int = 101,
    normalize: bool = True,
) -> Tensor:
    r"""``steps`` evenly spaced similarity thresholds between those at which the overall false
    accept rate (the accepted fraction of negative pairs) is ``far_max`` and ``far_min``: the
    calibration range of :func:`opis` stated as a false-accept-rate range on this set.

    Shapes:
        embeddings: ``(N, D)``; labels: ``(N,)``. Output: ``(steps,)`` increasing.
    """
    z, labels = _prepare(embeddings, labels, normalize)
    check_probability("far_min", far_min)
    check_probability("far_max", far_max)
    if not 0 < far_min < far_max:
        raise InputError(f"need 0 < far_min < far_max, got far_min={far_min}, far_max={far_max}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise InputError(f"steps must be an integer >= 2, got {steps!r}")
    neg = (z @ z.T)[labels[:, None] != labels[None, :]]
    if neg.numel() == 0:
        raise InputError("every sample has the same label: there is no negative pair")
    order = torch.sort(neg.double()).values
    # FAR(d) = fraction of negatives with similarity >= d: the (1 - far) quantile.
    lo = order[min(len(order) - 1, int((1 - far_max) * len(order)))]
    hi = order[min(len(order) - 1, int((1 - far_min) * len(order)))]
    if not bool(hi > lo):
        raise InputError("the far range maps to a single similarity on this set; widen it")
    return torch.linspace(float(lo), float(hi), steps, dtype=torch.float64)


def _prepare(embeddings: Tensor, labels: Tensor, normalize: bool) -> tuple[Tensor, Tensor]:
    check_embeddings("embeddings", embeddings, min_rows=2)
    labels = check_labels("labels", labels, int(embeddings.shape[0]))
    if bool((labels < 0).any()):
        raise InputError("labels must be non-negative integers (they index class_weights)")
    z = embeddings.detach().double()
    if normalize:
        z = nn.functional.normalize(z, dim=1)
    return z, labels.to(z.device)


def _accept_counts(
    z: Tensor, labels: Tensor, t: Tensor, n_classes: int, block_size: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per class: accepted positive pairs per threshold ``(C, K)``, all positive pairs ``(C,)``,
    and the same for negative pairs."""
    k = int(t.numel())
    n = int(z.shape[0])
    pos_hist = torch.zeros(n_classes, k + 1, dtype=torch.float64, device=z.device)
    neg_hist = torch.zeros_like(pos_hist)
    for i0 in range(0, n, max(1, block_size)):
        i1 = min(n, i0 + max(1, block_size))
        s = z[i0:i1] @ z.T
        # bucket b = number of thresholds <= s: the pair is accepted at t_k exactly when b > k
        bucket = torch.searchsorted(t, s.contiguous(), right=True)
        rows = labels[i0:i1, None].expand_as(s)
        same = rows == labels[None, :]
        not_self = torch.arange(i0, i1, device=z.device)[:, None] != torch.arange(n, device=z.device)
        flat = rows * (k + 1) + bucket
        ones = torch.ones_like(s)
        pos_hist.view(-1).index_add_(0, flat[same & not_self], ones[same & not_self])
        neg_hist.view(-1).index_add_(0, flat[~same], ones[~same])
    # accepted at t_k: buckets k+1 .. K
    pos_acc = pos_hist.flip(1).cumsum(1).flip(1)[:, 1:]
    neg_acc = neg_hist.flip(1).cumsum(1).flip(1)[:, 1:]
    return pos_acc, pos_hist.sum(1), neg_acc, neg_hist.sum(1)


def _utility(tpr: Tensor, tnr: Tensor) -> Tensor:
    total = tpr + tnr
    return torch.where(total > 0, 2 * tpr * tnr / total.clamp_min(1e-300), torch.zeros_like(total))
