"""ConR: contrastive regulariser for deep imbalanced regression."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import ContrastTerms, contrast_terms
from concord.samplers.base import PairTile
from concord.validation import check_choice, check_embeddings, check_finite, check_positive

__all__ = ["ConR"]


class ConR(ContrastiveLoss):
    r"""ConR (Keramati et al. 2024, `ConR: Contrastive Regularizer for Deep Imbalanced Regression
    <https://arxiv.org/abs/2309.06651>`_, ICLR 2024, Sec. 3): a supervised contrastive term for
    regression whose positives are samples with close labels and whose negatives are the
    samples with *far* labels but *close* predictions -- the ones the regressor confuses --
    pushed harder the farther their labels are:

    .. math::
        K^+_j = \{i : d(y_j, y_i) \le \omega\},\qquad
        K^-_j = \{q : d(y_j, y_q) > \omega,\ d(\hat{y}_j, \hat{y}_q) \le \omega\},

    .. math::
        \mathcal{L}_{ConR, j} = -\frac{1}{|K^+_j|} \sum_{i \in K^+_j}
            \log \frac{\exp(z_j \cdot z_i / \tau)}
                {\sum_{p \in K^+_j} \exp(z_j \cdot z_p / \tau)
                 + \sum_{q \in K^-_j} S_{j,q} \exp(z_j \cdot z_q / \tau)},
        \qquad S_{j,q} = w_j\, e^{e\, d(y_j, y_q)},

    .. math::
        \mathcal{L} = \beta\, \frac{1}{N} \sum_j w_j\, \mathbb{1}[K^-_j \ne \emptyset]\,
            \mathcal{L}_{ConR, j}

    so an anchor without negatives contributes 0 (and still counts in the mean), as in the
    authors' code. :math:`w_j` is an optional per-sample weight (``weights``; the authors pass
    their label-density re-weighting, 1 otherwise). The value is :math:`\beta` times the
    regulariser, ready to be added to the regression loss (the authors' ``loss += beta * l_c``).
    The masks and the pushing weights go through the core's contrast engine
    (:func:`contrast_terms` with weighted denominators), in query blocks.

    Views: ``features`` of shape ``(N, V, D)`` are ``V`` augmented views of each sample (the
    authors concatenate two); every view is an anchor and the other view of the same sample is a
    positive (its label distance is 0). Labels and predictions may be vectors (multi-output
    regression): :math:`d` is then the L2 (or L1) norm of the difference; for scalars both are
    :math:`|a - b|`. Predictions select negatives only (no gradient flows through them).

    Departures from the authors' code: its denominator is
    ``exp(pos).sum(1)`` over the *masked* logit matrix, which adds :math:`e^0 = 1` for every
    key that is not a positive (the anchor itself, negatives, ignored keys); here the denominator
    is the paper's, over :math:`K^+_j` and :math:`K^-_j` only. The AgeDB script also overrides
    :math:`\tau` with 0.07 inside the loss; the default here is the paper's 0.2. (The NYUD2
    script uses a linear pushing weight :math:`e\,w_j\, d`; this is the exponential one of the
    paper and of the AgeDB / IMDB-WIKI scripts.) A row without positives (possible with one
    view) raises unless ``empty_positives="ignore"``, which leaves it out of the mean.

    Args:
        window: :math:`\omega` (default: ``1.0``, the authors' AgeDB value, in label units).
        beta: coefficient :math:`\beta` of the regulariser (default: ``4.0``).
        temperature: :math:`\tau` (default: ``0.2``).
        e: pushing power :math:`e` (default: ``0.01``).
        label_metric: ``"l2"`` or ``"l1"`` norm for vector labels (default: ``"l2"``).
        normalize, gather, block_size, empty_positives: see
            :class:`~concord.losses.base.ContrastiveLoss`.

    Shapes:
        features: ``(N, D)`` or ``(N, V, D)``; labels, predictions: ``(N,)`` or ``(N, L)``;
        weights: ``(N,)``. Output: scalar.
    """

    registry_name = "conr"
    invariances = ("permutation", "scale")

    def __init__(
        self,
        *,
        window: float = 1.0,
        beta: float = 4.0,
        temperature: float = 0.2,
        e: float = 0.01,
        label_metric: Literal["l2", "l1"] = "l2",
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
        empty_positives: Literal["error", "ignore"] = "error",
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=False, normalize=normalize, gather=gather,
            block_size=block_size, empty_positives=empty_positives,
        )
        self.window = check_positive("window", window, allow_zero=True)
        self.beta = check_positive("beta", beta)
        self.e = check_positive("e", e, allow_zero=True)
        self.label_metric = check_choice("label_metric", label_metric, ("l2", "l1"))

    def forward(
        self, features: Tensor, labels: Tensor, predictions: Tensor, weights: Tensor | None = None
    ) -> Tensor:
        check_embeddings("features", features, ndim=(2, 3))
        if features.dim() == 2:
            features = features[:, None, :]
        n, v, _ = features.shape
        y = self._targets("labels", labels, n)
        p = self._targets("predictions", predictions, n)
        if p.shape != y.shape:
            raise InputError(f"predictions have shape {tuple(predictions.shape)}, labels {tuple(labels.shape)}")
        w = torch.ones(n, device=features.device) if weights is None else self._weights(weights, n)
        z = self.embed(features)
        if self.gather:
            gz = distributed.gather(z)
            keys3, offset = gz.tensor, gz.offset
            y_all, p_all = (distributed.gather_no_grad(t).tensor for t in (y, p))
        else:
            keys3, offset, y_all, p_all = z, 0, y, p
        n_global = int(keys3.shape[0])
        dev = z.device
        # view-major rows: row v * N + i holds view v of sample i (as SupCon)
        keys = keys3.transpose(0, 1).reshape(v * n_global, -1)
        query = z.transpose(0, 1).reshape(v * n, -1)
        local = offset + torch.arange(n, device=dev)
        self_index = torch.cat([k * n_global + local for k in range(v)])
        pairs = _ConRPairs(
            y.repeat(v, 1), y_all.repeat(v, 1), p.repeat(v, 1), p_all.repeat(v, 1), self_index,
            self.window, self.label_metric,
        )
        w_q = w.to(query.dtype).repeat(v)

        has_negative = torch.zeros(len(query), dtype=torch.bool, device=dev)

        def pushing(i0: int, i1: int, q: Tensor, k: Tensor) -> Tensor:
            tile = pairs.tile(i0, i1, 0, int(k.shape[0]))
            has_negative[i0:i1] = tile.negative.any(dim=1)  # the same on a recomputation
            s = w_q[i0:i1, None] * torch.exp(self.e * tile.label_distance.to(q.dtype))
            return torch.where(tile.negative, s, torch.ones_like(s))

        terms = contrast_terms(
            query, keys, self.tau(), pairs=pairs, key_weight=pushing, block_size=self.block_size,
            empty_positives=self.empty_positives,
        )
        # the mean runs over every anchor with a positive, those without negatives included (0)
        per_anchor = terms.loss * has_negative * w_q
        return self.beta * self.reduce(ContrastTerms(per_anchor, terms.valid))

    @staticmethod
    def _targets(name: str, t: Tensor, n: int) -> Tensor:
        if not isinstance(t, Tensor) or t.dim() not in (1, 2) or t.shape[0] != n:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise InputError(f"{name} must have shape ({n},) or ({n}, L), got {shape}")
        t = check_finite(name, t.detach().to(torch.float64 if t.dtype == torch.float64 else torch.float32))
        return t[:, None] if t.dim() == 1 else t

    @staticmethod
    def _weights(w: Tensor, n: int) -> Tensor:
        if not isinstance(w, Tensor) or w.shape != (n,):
            shape = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
            raise InputError(f"weights must have shape ({n},), got {shape}")
        check_finite("weights", w)
        if bool((w < 0).any()):
            raise InputError("weights must be non-negative")
        return w.detach()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        f = torch.randn(8, 2, 5, generator=generator)
        y = torch.tensor([0.0, 0.5, 2.0, 2.4, 5.0, 5.2, 9.0, 9.5])
        pred = torch.tensor([0.2, 2.3, 2.1, 0.4, 5.1, 8.8, 9.1, 5.5])
        y2 = torch.stack([y, y.flip(0)], dim=1)
        return [
            LossExample(init={}, args=(f, y, pred), grad_args=(0,), scale_args=(0,)),
            LossExample(init={"window": 0.6, "block_size": 5, "e": 0.5}, args=(f[:, 0], y, pred),
                        kwargs={}, grad_args=(0,), scale_args=(0,)),
            LossExample(init={"label_metric": "l1", "temperature": 0.5}, args=(f, y2, y2.roll(1, 0)),
                        grad_args=(0,), scale_args=(0,)),
            LossExample(init={}, args=(f, y, pred, torch.rand(8, generator=generator) + 0.5),
                        grad_args=(0,), scale_args=(0,)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        f = torch.randn(4, 2, 3, generator=generator)
        y = torch.tensor([0.0, 1.0, 2.0, 3.0])
        return [
            BadInput({"window": -1.0}, None, "window"),
            BadInput({"beta": 0.0}, None, "beta"),
            BadInput({"label_metric": "cosine"}, None, "label_metric"),
            BadInput({}, (f, y[:3], y), r"labels must have shape \(4,\)"),
            BadInput({}, (f, y, torch.stack([y, y], 1)), "predictions have shape"),
            BadInput({}, (f, y, y, -torch.ones(4)), "non-negative"),
            BadInput({}, (f, y, y * float("nan")), "NaN"),
            BadInput({"window": 0.1}, (f[:, 0], y, y), "no positive", why="one view, labels 1 apart"),
        ]


class _ConRPairs:
    """ConR's positives and negatives for :func:`contrast_terms`, tile by tile (the ``tile``
    method of :class:`concord.samplers.base.Pairs`): labels may be vectors, which the
    registered samplers do not take, and the negatives depend on predictions too."""

    def __init__(self, yq: Tensor, yk: Tensor, pq: Tensor, pk: Tensor, self_index: Tensor,
                 window: float, metric: str) -> None:
        self.yq, self.yk, self.pq, self.pk = yq, yk, pq, pk
        self.self_index, self.window, self.metric = self_index, window, metric
        self._last: tuple[tuple[int, int, int, int], _ConRTile] | None = None

    def _distance(self, a: Tensor, b: Tensor) -> Tensor:
        diff = (a[:, None, :] - b[None, :, :]).abs()  # exact (no |a|^2 + |b|^2 - 2ab expansion)
        return diff.sum(-1) if self.metric == "l1" else diff.pow(2).sum(-1).sqrt()

    def tile(self, i0: int, i1: int, j0: int, j1: int) -> _ConRTile:
        # the engine asks for each block's tile twice (its weights, then its masks): keep the last
        if self._last is not None and self._last[0] == (i0, i1, j0, j1):
            return self._last[1]
        tile = self._tile(i0, i1, j0, j1)
        self._last = ((i0, i1, j0, j1), tile)
        return tile

    def _tile(self, i0: int, i1: int, j0: int, j1: int) -> _ConRTile:
        d_label = self._distance(self.yq[i0:i1], self.yk[j0:j1])
        d_pred = self._distance(self.pq[i0:i1], self.pk[j0:j1])
        cols = torch.arange(j0, j1, device=d_label.device)
        not_self = self.self_index[i0:i1, None] != cols[None, :]
        close = d_label <= self.window
        return _ConRTile(
            positive=close & not_self, negative=~close & (d_pred <= self.window) & not_self,
            label_distance=d_label,
        )


@dataclass(frozen=True)
class _ConRTile(PairTile):
    """A :class:`PairTile` that also carries the label distances (for the pushing weights)."""

    label_distance: Tensor | None = None
