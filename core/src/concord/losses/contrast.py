r"""The one computation behind the InfoNCE family: per-query contrastive terms, in query blocks.

For query :math:`i` with positives :math:`P(i)` (weights :math:`w_{ip}`), negatives
:math:`N(i)`, similarities :math:`s_{ij} = \langle q_i, k_j \rangle / \tau`:

.. math::
    \ell_i = \log \sum_{a \in D(i)} e^{s_{ia}}
             - c_i \frac{\sum_{p \in P(i)} w_{ip}\, s_{ip}}{\sum_{p \in P(i)} w_{ip}},
    \qquad D(i) = \begin{cases} P(i) \cup N(i) & \text{coupled (InfoNCE, NT-Xent, SupCon } L_{out}) \\
                                N(i) & \text{decoupled (DCL)} \end{cases}

with :math:`c_i = 1` except for DCLW's positive weight. For one positive this is
:math:`-\log \frac{e^{s_{ip}}}{\sum_{a \in D(i)} e^{s_{ia}}}`; for several it is SupCon's
:math:`L_{out}` (Khosla et al. 2020, Eq. 2).

With ``positives="sum"`` the positives are pooled inside the logarithm instead,

.. math::
    \ell_i = \log \sum_{a \in D(i)} e^{s_{ia}} - \log \sum_{p \in P(i)} w_{ip}\, e^{s_{ip}},

SupCon's :math:`L_{in}` (Khosla et al. 2020, Eq. 3) and PixContrast's pixel loss (Xie et al. 2021,
`Propagate Yourself <https://arxiv.org/abs/2011.10043>`_, Eq. 2): one query pulls on its positives
as a group, the closest ones most.

Weighted denominators: with ``key_weight`` the log-sum-exp becomes
:math:`\log \sum_{a \in D(i)} v_{ia} e^{s_{ia}}` for non-negative weights :math:`v_{ia}` computed
per block (a zero weight drops the key; the weights may carry gradients, e.g. a learned weight
network). This is the form of MEOW's and AdaMEOW's weighted negatives (Yu & Li 2023; Yu et al.
2024), where the positive too enters the denominator only through its weight.

Queries are processed in blocks of ``block_size`` rows; with gradients enabled each block is
recomputed in the backward pass (``torch.utils.checkpoint``), so peak memory is
``O(block_size x M)``, not ``O(N x M)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from concord.errors import InputError
from concord.samplers.base import Pairs

__all__ = ["ContrastTerms", "contrast_terms"]

_NEG_INF = float("-inf")

KeyWeight = Callable[[int, int, Tensor, Tensor], Tensor]
"""``key_weight(i0, i1, query_block, key) -> (i1 - i0, M)`` non-negative denominator weights of
query rows ``i0:i1`` (``query_block`` and ``key`` as given to :func:`contrast_terms`)."""


@dataclass(frozen=True)
class ContrastTerms:
    """Per-query losses (0 where not ``valid``) and which queries count."""

    loss: Tensor
    valid: Tensor

    def sum(self) -> Tensor:
        return self.loss.sum()

    def count(self) -> Tensor:
        return self.valid.sum()


def contrast_terms(
    query: Tensor,
    key: Tensor,
    temperature: Tensor | float,
    *,
    pairs: Pairs | None = None,
    positive_index: Tensor | None = None,
    self_index: Tensor | None = None,
    decoupled: bool = False,
    positive_scale: Tensor | None = None,
    block_size: int | None = None,
    empty_positives: str = "error",
    key_weight: KeyWeight | None = None,
    positives: str = "mean",
) -> ContrastTerms:
    """Per-query contrastive terms.

    Exactly one of ``pairs`` (a bound sampler: any number of weighted positives) and
    ``positive_index`` (one positive per query: key row ``positive_index[i]``; every other key
    except ``self_index[i]`` is a negative -- the implicit two-view sampler, no masks built)
    must be given. ``key_weight`` weights the denominator (see the module docstring); keys that
    are masked out (``self_index``, the decoupled positive, non-negatives of ``pairs``) stay out
    whatever their weight. ``positives`` (``"mean"`` or ``"sum"``, with ``pairs`` only) chooses
    between the two forms of the module docstring.

    Shapes:
        query ``(N, D)``, key ``(M, D)``, positive_index / self_index / positive_scale ``(N,)``.
    """
    if (pairs is None) == (positive_index is None):
        raise InputError("give exactly one of pairs and positive_index")
    if positives not in ("mean", "sum"):
        raise InputError(f"positives must be 'mean' or 'sum', got {positives!r}")
    n = int(query.shape[0])
    block = n if block_size is None else max(1, int(block_size))
    use_checkpoint = block < n and torch.is_grad_enabled() and (
        query.requires_grad or key.requires_grad or isinstance(temperature, Tensor)
        or key_weight is not None
    )
    losses, valids = [], []
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)

        def run(q_blk: Tensor, k: Tensor, i0: int = i0, i1: int = i1) -> tuple[Tensor, Tensor]:
            return _block(
                q_blk, k, temperature, i0, i1,
                pairs=pairs, positive_index=positive_index, self_index=self_index,
                decoupled=decoupled, positive_scale=positive_scale,
                empty_positives=empty_positives, key_weight=key_weight, positives=positives,
            )

        if use_checkpoint:
            loss_b, valid_b = checkpoint(run, query[i0:i1], key, use_reentrant=False)
        else:
            loss_b, valid_b = run(query[i0:i1], key)
        losses.append(loss_b)
        valids.append(valid_b)
    return ContrastTerms(torch.cat(losses), torch.cat(valids))


def _block(
    q: Tensor,
    k: Tensor,
    temperature: Tensor | float,
    i0: int,
    i1: int,
    *,
    pairs: Pairs | None,
    positive_index: Tensor | None,
    self_index: Tensor | None,
    decoupled: bool,
    positive_scale: Tensor | None,
    empty_positives: str,
    key_weight: KeyWeight | None,
    positives: str = "mean",
) -> tuple[Tensor, Tensor]:
    w = None if key_weight is None else _key_weights(key_weight, i0, i1, q, k)
    # 1/tau is folded into the (B, D) queries, not applied to the (B, M) logits: one B x M
    # tensor fewer in the forward and the backward pass; the gradient still reaches tau.
    q = q / temperature
    logits = q @ k.T
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # softmax statistics in float32; float64 stays float64
    rows = torch.arange(i1 - i0, device=logits.device)
    scale = None if positive_scale is None else positive_scale[i0:i1]

    if positive_index is not None:
        pos_col = positive_index[i0:i1]
        # <q_i, k_p(i)> from the (B, D) rows: its backward needs no dense B x M scatter.
        pos_logit = (q.to(logits.dtype) * k[pos_col].to(logits.dtype)).sum(dim=1)
        # Masked entries are constants of the loss, so their gradient is zero -- which the
        # log-sum-exp's backward already gives them (exp(-inf - lse) = 0). The masking is done in
        # place and outside autograd: `logits` is this block's own buffer, the matmul that made
        # it does not keep it for backward, and no mask, copy or masked gradient is materialised.
        with torch.no_grad():
            if self_index is not None:
                s = self_index[i0:i1]
                has_self = s >= 0
                logits[rows[has_self], s[has_self]] = _NEG_INF
            if decoupled:
                logits[rows, pos_col] = _NEG_INF
        lse = _log_sum_exp(logits) if w is None else _weighted_lse(logits, w)
        _check_denominator(lse, decoupled, i0, weighted=w is not None)
        pos_term = pos_logit if scale is None else pos_logit * scale
        return lse - pos_term, torch.ones_like(pos_logit, dtype=torch.bool)

    assert pairs is not None
    tile = pairs.tile(i0, i1, 0, int(k.shape[0]))
    positive = tile.positive
    weight = positive.to(logits.dtype) if tile.weight is None else tile.weight.to(logits.dtype) * positive
    n_pos = positive.sum(dim=1)
    valid = n_pos > 0
    if not bool(valid.all()):
        if empty_positives == "error":
            first = int(torch.nonzero(~valid)[0, 0]) + i0
            raise InputError(
                f"{int((~valid).sum())} quer{'y has' if int((~valid).sum()) == 1 else 'ies have'} "
                f"no positive key (first: query {first}); the sampler left them without "
                "positives. Fix the batch (e.g. sample at least two items per class) or pass "
                "empty_positives='ignore' to leave such queries out of the mean"
            )
    denom = tile.negative if decoupled else (tile.negative | positive)
    # Rows left out of the mean still get a finite log-sum-exp, so no NaN reaches the gradient.
    denom = denom | (~valid)[:, None]
    if positives == "sum":
        # log sum_p w_p e^{s_p}, taken before masking; a row without positives gets a finite 0 term
        pos_logits = logits.masked_fill(~(positive | (~valid)[:, None]), _NEG_INF)
        pos_mean = _weighted_lse(pos_logits, torch.where(valid[:, None], weight, 1.0))
    else:
        wsum = weight.sum(dim=1)
        # The positive mean is taken before masking (DCL masks the positives themselves).
        pos_mean = (logits * weight).sum(dim=1) / wsum.clamp_min(torch.finfo(wsum.dtype).tiny)
    if weight.requires_grad:  # the product above kept `logits` for weight's gradient
        logits = logits.masked_fill(~denom, _NEG_INF)
    else:  # masked in place outside autograd, as in the two-view path: no B x M copy
        with torch.no_grad():
            logits.masked_fill_(~denom, _NEG_INF)
    if w is not None:
        w = torch.where(valid[:, None], w, torch.ones_like(w))
    lse = _log_sum_exp(logits) if w is None else _weighted_lse(logits, w)
    _check_denominator(lse[valid], decoupled, i0, weighted=w is not None)
    pos_term = pos_mean if scale is None else pos_mean * scale
    loss = torch.where(valid, lse - pos_term, torch.zeros_like(lse))
    return loss, valid


#: rows whose maximum logit lies within +-this are exponentiated unshifted (see _LogSumExp)
_UNSHIFTED_RANGE = 60.0


def _log_sum_exp(x: Tensor) -> Tensor:
    """Row-wise log-sum-exp of a ``(B, M)`` matrix that the caller owns and no longer needs: it is
    overwritten (see :class:`_LogSumExp`)."""
    return _LogSumExp.apply(x)[0]


class _LogSumExp(torch.autograd.Function):
    r"""Row-wise log-sum-exp of a ``(B, M)`` matrix in three passes over it and one buffer, and a
    backward in one pass.

    ``torch.logsumexp`` makes four passes and a ``B x M`` temporary (row max, subtract it into
    the temporary, exponentiate, sum), and its backward ``g * exp(x - lse)`` two more passes and
    temporaries; on the ``2N x 2N`` logits of a full-batch GRACE epoch that cost about as much as
    the similarity's forward product (``benchmarks/graph/speed_grace_pot_cora.py``). Here the
    logits are exponentiated in place, :math:`P = e^{x - c}`, the row sums :math:`S` kept, and
    the backward is the one product :math:`g_i P_{ij} / S_i` (the softmax times the incoming
    gradient). The shift :math:`c` is 0 when every row's maximum lies in :math:`[-60, 60]`:
    nothing can overflow (a term is at most :math:`e^{60}`; a row of a billion stays finite in
    float32) and no row's largest term underflows, so the sum keeps what the shifted sum keeps.
    That holds for the cosine logits of every temperature above 1/60; otherwise :math:`c` is the
    row maximum, as in ``torch.logsumexp`` (an all ``-inf`` row gives ``-inf``, as there).

    The input buffer becomes :math:`P` (``mark_dirty``) and is returned as a second output, so
    that the backward, when it is itself differentiated (``create_graph=True``, e.g. a bilevel
    meta-gradient), stays a function of ``x``: :math:`\partial P / \partial x = P`
    elementwise, and the softmax :math:`P / S` does not depend on the shift.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> tuple[Tensor, Tensor]:
        ctx.set_materialize_grads(False)
        row_max = x.amax(dim=1)
        if bool(((row_max >= -_UNSHIFTED_RANGE) & (row_max <= _UNSHIFTED_RANGE)).all()):
            shift = None
        else:
            shift = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
            x.sub_(shift[:, None])
        x.exp_()
        total = x.sum(dim=1)
        lse = total.log() if shift is None else total.log() + shift
        ctx.mark_dirty(x)
        ctx.save_for_backward(x, total)
        return lse, x

    @staticmethod
    def backward(ctx, grad: Tensor | None, grad_p: Tensor | None) -> Tensor | None:
        p, total = ctx.saved_tensors
        out = None
        if grad is not None:
            if torch.is_grad_enabled():  # differentiable in p (an output of this function)
                out = p * (grad / p.sum(dim=1))[:, None]
            else:
                out = p * (grad / total)[:, None]
        if grad_p is not None:
            out = grad_p * p if out is None else out + grad_p * p
        return out


def _key_weights(fn: KeyWeight, i0: int, i1: int, q: Tensor, k: Tensor) -> Tensor:
    w = fn(i0, i1, q, k)
    shape = (i1 - i0, int(k.shape[0]))
    if not isinstance(w, Tensor) or tuple(w.shape) != shape:
        got = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
        raise InputError(f"key_weight for query rows {i0}:{i1} must return a {shape} tensor, got {got}")
    if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
        raise InputError(f"key weights of query rows {i0}:{i1} must be finite and >= 0")
    return w


def _weighted_lse(logits: Tensor, w: Tensor) -> Tensor:
    """``log sum_j w_ij exp(x_ij)`` row-wise over the keys with ``w_ij > 0``.

    The shift is the row maximum over those keys only. A key of weight 0 is no part of the sum,
    so it must not set the shift either: in MEOW the positive has weight 0 and is usually the
    row's largest logit, and shifting by it at a small temperature (``x_pos - x_neg`` of a few
    hundred at ``tau = 0.01``) underflows every weighted term to 0 in float32 -- a log of 0 and a
    false "no negative key" error. With the shift taken over the positive-weight keys the
    largest term is ``w exp(0) = w`` and nothing underflows that matters.

    A zero weight drops its key: no term, and no gradient through that weight (its one-sided
    derivative ``exp(x_ij - lse_i)`` overflows exactly when the key dominates the row, the case
    above). The masking is a ``where`` on the exponent, not ``0 * exp(...)``, so no ``0 * inf``
    reaches the value or the gradient. ``-inf`` logits drop out as well.
    """
    keep = w > 0
    with torch.no_grad():
        shift = logits.masked_fill(~keep, _NEG_INF).amax(dim=1, keepdim=True)
        shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    exponent = torch.where(keep, logits - shift, torch.full_like(logits, _NEG_INF))
    total = (w.to(logits.dtype) * torch.exp(exponent)).sum(dim=1)
    return torch.log(total) + shift.squeeze(1)


def _check_denominator(lse: Tensor, decoupled: bool, i0: int, *, weighted: bool = False) -> None:
    if bool(torch.isneginf(lse).any()):
        first = int(torch.nonzero(torch.isneginf(lse))[0, 0]) + i0
        if weighted:
            raise InputError(
                f"query {first} has no negative key with a positive weight in the denominator "
                "(every key it may contrast with has weight 0)"
            )
        what = "negative" if decoupled else "positive or negative"
        raise InputError(
            f"query {first} has no {what} key to contrast with; a contrastive loss needs at "
            "least one other sample in the batch"
        )
