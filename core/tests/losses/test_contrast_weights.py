"""Weighted denominators in the contrast engine (``contrast_terms(..., key_weight=...)``),
against the formula written out as a loop:

    l_i = -s_i,p(i) + log sum_{a in D(i)} v_ia exp(s_ia),   s = <q, k> / tau.
"""

from __future__ import annotations

import math

import pytest
import torch

from concord.losses.contrast import contrast_terms
from concord.samplers import LabelsSampler


def _loop(q, k, tau, v, *, positives, denominator):
    """Per-query terms by plain Python loops; ``positives[i]`` and ``denominator[i]`` are lists."""
    out = []
    for i in range(q.shape[0]):
        s = [float(q[i] @ k[j]) / tau for j in range(k.shape[0])]
        pos = sum(s[p] for p in positives[i]) / len(positives[i])
        out.append(math.log(sum(float(v[i, a]) * math.exp(s[a]) for a in denominator[i])) - pos)
    return torch.tensor(out, dtype=torch.float64)


def _data(n=7, m=7, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(n, d, generator=g, dtype=torch.float64)
    k = torch.randn(m, d, generator=g, dtype=torch.float64)
    v = torch.rand(n, m, generator=g, dtype=torch.float64) * 2
    v[0, 3] = 0.0  # a zero weight drops that key
    v[2, 2] = 0.0  # ... also the positive itself (MEOW: same cluster everywhere)
    return q, k, v


@pytest.mark.parametrize("block_size", [None, 2])
def test_one_positive_per_query_matches_the_loop(block_size):
    q, k, v = _data()
    n = q.shape[0]
    got = contrast_terms(q, k, 0.5, positive_index=torch.arange(n), block_size=block_size,
                         key_weight=lambda i0, i1, _q, _k: v[i0:i1]).loss
    want = _loop(q, k, 0.5, v, positives=[[i] for i in range(n)], denominator=[range(n)] * n)
    torch.testing.assert_close(got, want)


def test_masked_keys_stay_out_whatever_their_weight():
    """self_index and the decoupled positive are removed even with a non-zero weight."""
    q, k, v = _data()
    n = q.shape[0]
    self_index = (torch.arange(n) + 1) % n
    got = contrast_terms(q, k, 0.3, positive_index=torch.arange(n), self_index=self_index, decoupled=True,
                         key_weight=lambda i0, i1, _q, _k: v[i0:i1]).loss
    den = [[a for a in range(n) if a not in (i, int(self_index[i]))] for i in range(n)]
    want = _loop(q, k, 0.3, v, positives=[[i] for i in range(n)], denominator=den)
    torch.testing.assert_close(got, want)


def test_sampler_path_matches_the_loop():
    q, k, v = _data(n=8, m=8)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    pairs = LabelsSampler().bind(q, k, query_labels=labels, key_labels=labels, self_index=torch.arange(8))
    got = contrast_terms(q, k, 0.5, pairs=pairs, key_weight=lambda i0, i1, _q, _k: v[i0:i1]).loss
    pos = [[j for j in range(8) if j != i and labels[j] == labels[i]] for i in range(8)]
    den = [[j for j in range(8) if j != i] for i in range(8)]
    torch.testing.assert_close(got, _loop(q, k, 0.5, v, positives=pos, denominator=den))


def test_weights_of_one_equal_the_unweighted_terms():
    q, k, _ = _data()
    n = q.shape[0]
    plain = contrast_terms(q, k, 0.2, positive_index=torch.arange(n)).loss
    ones = contrast_terms(q, k, 0.2, positive_index=torch.arange(n),
                          key_weight=lambda i0, i1, _q, kk: torch.ones(i1 - i0, kk.shape[0], dtype=kk.dtype)).loss
    torch.testing.assert_close(ones, plain)


def test_gradients_reach_embeddings_and_learned_weights():
    """float64 gradcheck through queries, keys and a weight that depends on a parameter, in
    checkpointed blocks (the weight network of AdaMEOW is such a closure)."""
    q, k, v = _data(n=5, m=5)
    q.requires_grad_(True)
    k.requires_grad_(True)
    scale = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)

    def f(q, k, scale):
        def weight(i0, i1, qb, kk):
            return torch.sigmoid(scale * (qb @ kk.T)) + v[i0:i1]
        return contrast_terms(q, k, 0.5, positive_index=torch.arange(5), block_size=2, key_weight=weight).loss.sum()

    assert torch.autograd.gradcheck(f, (q, k, scale))


def test_bad_weights_are_refused():
    q, k, v = _data()
    n = q.shape[0]
    idx = torch.arange(n)
    with pytest.raises(ValueError, match=r"must return a \(7, 7\) tensor"):
        contrast_terms(q, k, 0.5, positive_index=idx, key_weight=lambda i0, i1, _q, _k: v[:, :3])
    with pytest.raises(ValueError, match="finite and >= 0"):
        contrast_terms(q, k, 0.5, positive_index=idx, key_weight=lambda i0, i1, _q, _k: -v[i0:i1])
    with pytest.raises(ValueError, match="finite and >= 0"):
        contrast_terms(q, k, 0.5, positive_index=idx,
                       key_weight=lambda i0, i1, _q, _k: torch.full((i1 - i0, n), float("nan"), dtype=q.dtype))
    with pytest.raises(ValueError, match="query 0 has no negative key with a positive weight"):
        contrast_terms(q, k, 0.5, positive_index=idx,
                       key_weight=lambda i0, i1, _q, _k: torch.zeros(i1 - i0, n, dtype=q.dtype))


def test_positive_weights_with_gradients_in_the_sampler_path():
    """A sampler whose positive weights carry gradients (the engine then masks out of place):
    float64 gradcheck through the weights, and the value against the loop."""
    from concord.samplers import PairTile

    q, k, _ = _data(n=6, m=6)
    labels = torch.tensor([0, 0, 1, 1, 0, 1])
    positive = (labels[:, None] == labels[None, :]) & ~torch.eye(6, dtype=torch.bool)
    negative = labels[:, None] != labels[None, :]

    class Weighted:
        def __init__(self, raw):
            self.raw = raw

        def tile(self, i0, i1, j0, j1):
            return PairTile(positive[i0:i1, j0:j1], negative[i0:i1, j0:j1], torch.sigmoid(self.raw[i0:i1, j0:j1]))

    raw = torch.randn(6, 6, dtype=torch.float64, requires_grad=True)

    def f(raw):
        return contrast_terms(q, k, 0.5, pairs=Weighted(raw), block_size=4).loss

    assert torch.autograd.gradcheck(f, (raw,))
    w = torch.sigmoid(raw.detach())
    got = f(raw).detach()
    for i in range(6):
        s = (q[i] @ k.T) / 0.5
        p = positive[i]
        want = torch.logsumexp(s[p | negative[i]], 0) - (w[i, p] * s[p]).sum() / w[i, p].sum()
        torch.testing.assert_close(got[i], want)


@pytest.mark.parametrize("tau", [0.01, 0.001])
def test_zero_weight_positive_at_small_temperature_matches_float64(tau):
    """MEOW's case: the positive has weight 0 and is the row's largest logit by far.

    Catches the shift taken over *every* key (the old ``_weighted_lse``): shifting by the
    zero-weight positive's logit, ``s_pos - s_neg = 1.2 / tau`` here (120 at tau = 0.01, 1200 at
    0.001, beyond float32's smallest exp(-103)), underflows each weighted term to 0 -- a log of 0
    and a false "no negative key with a positive weight" error. The reference is float64
    ``torch.logsumexp`` of ``s + log v`` over the positive-weight keys: the log-domain form,
    which needs no shift of its own.
    """
    n = 6
    # a regular simplex: unit vectors with pairwise cosine -1/(n-1) = -0.2, slightly perturbed
    g = torch.Generator().manual_seed(0)
    simplex = torch.eye(n, dtype=torch.float64) - 1.0 / n
    q = torch.nn.functional.normalize(simplex + 1e-3 * torch.randn(n, n, generator=g, dtype=torch.float64), dim=1)
    k = q.clone()  # query i's positive is key i, the same vector (cosine 1)
    v = torch.rand(n, n, generator=g, dtype=torch.float64) + 0.5
    v.fill_diagonal_(0.0)  # the positive enters the denominator with weight 0 (MEOW)
    s = (q @ k.T) / tau

    want = torch.empty(n, dtype=torch.float64)
    for i in range(n):
        keep = v[i] > 0
        want[i] = torch.logsumexp(s[i, keep] + v[i, keep].log(), dim=0) - s[i, i]
    got = contrast_terms(q.float(), k.float(), tau, positive_index=torch.arange(n),
                         key_weight=lambda i0, i1, _q, _k: v[i0:i1].float()).loss
    # float32 logits of size 1/tau carry an absolute rounding error of ~1e-7 / tau each
    torch.testing.assert_close(got.double(), want, rtol=0, atol=50 * 1.2e-7 / tau)


def test_zero_weight_key_gets_no_nan_gradient():
    """A zero-weight key that dominates its row: the gradient stays finite (``0 * exp(big)`` is
    never formed) and equals float64 autograd of the log-domain formula over the kept keys."""
    q, k, v = _data(n=5, m=5)
    q = (q * 40).requires_grad_(True)  # logits of a few hundred: exp overflows float32
    v = v.clone()
    v.fill_diagonal_(0.0)
    got = contrast_terms(q.float(), k.float(), 1.0, positive_index=torch.arange(5),
                         key_weight=lambda i0, i1, _q, _k: v[i0:i1].float()).loss.sum()
    (gq,) = torch.autograd.grad(got, q)
    s = q @ k.T
    keep = v > 0
    want = (torch.logsumexp(torch.where(keep, s + v.clamp_min(1e-300).log(), -torch.inf), dim=1)
            - torch.diagonal(s)).sum()
    (wq,) = torch.autograd.grad(want, q)
    assert bool(torch.isfinite(gq).all())
    torch.testing.assert_close(gq, wq, rtol=1e-4, atol=1e-4)
