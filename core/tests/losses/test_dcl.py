"""DCL / DCLW against the decoupled formula written out as the reference code computes it.

The reference is the one-way loss of raminnakhli/Decoupled-Contrastive-Learning
(``loss/dcl.py``), written out again here from its formula: ``-<z1_i, z2_i>/tau`` (times
``weight_fn(z1, z2)`` for DCLW) plus the log-sum-exp over ``[z1 z1^T, z1 z2^T] / tau`` with both
diagonals removed, averaged over anchors; the symmetric loss is the mean of both directions.
Its DCLW ``weight_fn`` is ``2 - N softmax(<z1, z2> / sigma)``, differentiated with the rest.
lightly's ``negative_mises_fisher_weights`` is the same weight computed on detached
embeddings (our ``detach_weight=True``).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses import DCL, DCLW, NTXent


def dcl_direction(z1, z2, tau, weight_fn=None):
    """One direction of the reference computation (embeddings normalised first, as we do)."""
    z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    cross = z1 @ z2.T
    pos = -torch.diag(cross) / tau
    if weight_fn is not None:
        pos = pos * weight_fn(z1, z2)
    neg = torch.cat([z1 @ z1.T, cross], dim=1) / tau
    eye = torch.eye(z1.shape[0], dtype=torch.bool)
    neg = neg.masked_fill(torch.cat([eye, eye], dim=1), float("-inf"))
    return (pos + torch.logsumexp(neg, dim=1)).mean()


def vmf_weight(sigma):
    """The reference ``weight_fn``: not detached."""
    return lambda a, b: 2 - a.shape[0] * torch.softmax((a * b).sum(dim=1) / sigma, dim=0)


def vmf_weight_detached(sigma):
    """lightly's ``negative_mises_fisher_weights``: the same weight on detached embeddings."""
    return lambda a, b: vmf_weight(sigma)(a.detach(), b.detach())


def symmetric(z1, z2, tau, weight_fn=None):
    return (dcl_direction(z1, z2, tau, weight_fn) + dcl_direction(z2, z1, tau, weight_fn)) / 2


def _views(seed=0, n=10, d=4):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64)
    return z1, z1 + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)


def _value_and_grads(fn, z1, z2):
    a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    out = fn(a, b)
    out.backward()
    return out.detach(), a.grad, b.grad


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_dcl_matches_the_reference_formula(tau):
    z1, z2 = _views()
    torch.testing.assert_close(DCL(temperature=tau)(z1, z2), symmetric(z1, z2, tau))


@pytest.mark.parametrize("block_size", [None, 3])
def test_dclw_value_and_gradient_match_the_reference_weight_fn(block_size):
    """Catches a DCLW that detaches its weight by default (the old behaviour): the values agree
    either way, the gradients do not -- checked below to differ by far more than the tolerance."""
    z1, z2 = _views(1)
    loss = DCLW(temperature=0.1, sigma=0.5, block_size=block_size)
    got = _value_and_grads(loss, z1, z2)
    want = _value_and_grads(lambda a, b: symmetric(a, b, 0.1, vmf_weight(0.5)), z1, z2)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)
    detached = _value_and_grads(lambda a, b: symmetric(a, b, 0.1, vmf_weight_detached(0.5)), z1, z2)
    assert float((want[1] - detached[1]).abs().max()) > 1e-2  # the weight's gradient is material


def test_dclw_detach_weight_matches_lightly():
    z1, z2 = _views(2)
    got = _value_and_grads(DCLW(detach_weight=True), z1, z2)
    want = _value_and_grads(lambda a, b: symmetric(a, b, 0.1, vmf_weight_detached(0.5)), z1, z2)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


def test_dclw_weight_by_hand_on_two_samples():
    """Closed form for N = 2: with c_k = <z1_k, z2_k>, w_1 = 2 - 2 e^{c_1/s} / (e^{c_1/s} + e^{c_2/s})
    = 2 - 2 sigmoid((c_1 - c_2)/s); catches an N-less softmax (the weights would not average to 1)."""
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    z2 = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64) / torch.tensor([[1.0], [2**0.5]], dtype=torch.float64)
    c1, c2 = 1.0, 2**-0.5
    w1 = 2 - 2 * torch.sigmoid(torch.tensor((c1 - c2) / 0.5, dtype=torch.float64))
    w = DCLW(sigma=0.5).positive_weight(z1, z2)
    torch.testing.assert_close(w, torch.stack([w1, 2 - w1]))


def test_dcl_differs_from_nt_xent_by_exactly_the_removed_positive():
    """DCL's log-sum-exp is NT-Xent's without the positive: per anchor,
    ``l_NT - l_DCL = log(1 + e^{s_pos} / sum_neg e^{s_neg})``. Checked per anchor from the logits,
    so a DCL that left the positive in (or removed a negative instead) fails; the old test only
    asserted DCL < NT-Xent, which any non-negative removed term satisfies."""
    z1, z2 = _views(4, n=6)
    tau = 0.5
    n1, n2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    z = torch.cat([n1, n2])
    sim = z @ z.T / tau
    n = z1.shape[0]
    pos = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    gap = []
    for i in range(2 * n):
        neg = [j for j in range(2 * n) if j not in (i, int(pos[i]))]
        gap.append(torch.log1p(torch.exp(sim[i, pos[i]]) / torch.exp(sim[i, neg]).sum()))
    torch.testing.assert_close(NTXent(temperature=tau)(z1, z2) - DCL(temperature=tau)(z1, z2),
                               torch.stack(gap).mean())
