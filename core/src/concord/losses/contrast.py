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

Queries are processed in blocks of ``block_size`` rows; with gradients enabled each block is
recomputed in the backward pass (``torch.utils.checkpoint``), so peak memory is
``O(block_size x M)``, not ``O(N x M)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from concord.samplers.base import Pairs

__all__ = ["ContrastTerms", "contrast_terms"]

_NEG_INF = float("-inf")


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
) -> ContrastTerms:
    """Per-query contrastive terms.

    Exactly one of ``pairs`` (a bound sampler: any number of weighted positives) and
    ``positive_index`` (one positive per query: key row ``positive_index[i]``; every other key
    except ``self_index[i]`` is a negative -- the implicit two-view sampler, no masks built)
    must be given.

    Shapes:
        query ``(N, D)``, key ``(M, D)``, positive_index / self_index / positive_scale ``(N,)``.
    """
    if (pairs is None) == (positive_index is None):
        raise ValueError("give exactly one of pairs and positive_index")
    n = int(query.shape[0])
    block = n if block_size is None else max(1, int(block_size))
    use_checkpoint = block < n and torch.is_grad_enabled() and (
        query.requires_grad or key.requires_grad or isinstance(temperature, Tensor)
    )
    losses, valids = [], []
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)

        def run(q_blk: Tensor, k: Tensor, i0: int = i0, i1: int = i1) -> tuple[Tensor, Tensor]:
            return _block(
                q_blk, k, temperature, i0, i1,
                pairs=pairs, positive_index=positive_index, self_index=self_index,
                decoupled=decoupled, positive_scale=positive_scale,
                empty_positives=empty_positives,
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
) -> tuple[Tensor, Tensor]:
    logits = q @ k.T
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # softmax statistics in float32; float64 stays float64
    logits = logits / temperature
    rows = torch.arange(i1 - i0, device=logits.device)
    scale = None if positive_scale is None else positive_scale[i0:i1]

    if positive_index is not None:
        pos_col = positive_index[i0:i1]
        pos_logit = logits[rows, pos_col]  # a copy: the in-place masking below leaves it intact
        # Mask in place: `logits` is this block's own buffer and nothing saved for backward reads
        # it before the log-sum-exp, so no second N x M tensor (mask or copy) is made.
        if self_index is not None:
            s = self_index[i0:i1]
            has_self = s >= 0
            logits[rows[has_self], s[has_self]] = _NEG_INF
        if decoupled:
            logits[rows, pos_col] = _NEG_INF
        lse = torch.logsumexp(logits, dim=1)
        _check_denominator(lse, decoupled, i0)
        pos_term = pos_logit if scale is None else pos_logit * scale
        return lse - pos_term, torch.ones_like(pos_logit, dtype=torch.bool)

    assert pairs is not None
    tile = pairs.tile(i0, i1, 0, int(k.shape[0]))
    positive = tile.positive
    weight = positive.float() if tile.weight is None else tile.weight.float() * positive
    n_pos = positive.sum(dim=1)
    valid = n_pos > 0
    if not bool(valid.all()):
        if empty_positives == "error":
            first = int(torch.nonzero(~valid)[0, 0]) + i0
            raise ValueError(
                f"{int((~valid).sum())} quer{'y has' if int((~valid).sum()) == 1 else 'ies have'} "
                f"no positive key (first: query {first}); the sampler left them without "
                "positives. Fix the batch (e.g. sample at least two items per class) or pass "
                "empty_positives='ignore' to leave such queries out of the mean"
            )
    denom = tile.negative if decoupled else (tile.negative | positive)
    # Rows left out of the mean still get a finite log-sum-exp, so no NaN reaches the gradient.
    denom = denom | (~valid)[:, None]
    lse = torch.logsumexp(logits.masked_fill(~denom, _NEG_INF), dim=1)
    _check_denominator(lse[valid], decoupled, i0)
    wsum = weight.sum(dim=1)
    pos_mean = (logits * weight).sum(dim=1) / wsum.clamp_min(torch.finfo(wsum.dtype).tiny)
    pos_term = pos_mean if scale is None else pos_mean * scale
    loss = torch.where(valid, lse - pos_term, torch.zeros_like(lse))
    return loss, valid


def _check_denominator(lse: Tensor, decoupled: bool, i0: int) -> None:
    if bool(torch.isneginf(lse).any()):
        first = int(torch.nonzero(torch.isneginf(lse))[0, 0]) + i0
        what = "negative" if decoupled else "positive or negative"
        raise ValueError(
            f"query {first} has no {what} key to contrast with; a contrastive loss needs at "
            "least one other sample in the batch"
        )
