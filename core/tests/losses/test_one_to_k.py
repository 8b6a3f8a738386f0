"""1-to-K against its two directions written out one query / key at a time, and 2 processes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses.one_to_k import OneToK
from concord.testing import run_distributed


def one_to_k_loop(v, t, tau, symmetric=True):
    v, t = F.normalize(v, dim=-1), F.normalize(t, dim=-1)
    n, k, _ = t.shape
    flat = t.reshape(n * k, -1)
    v2t = 0.0
    for i in range(n):
        log_p = torch.log_softmax(flat @ v[i] / tau, dim=0)  # over all N K keys
        v2t = v2t - sum(log_p[i * k + m] for m in range(k)) / k
    v2t = v2t / n
    if not symmetric:
        return v2t
    t2v = 0.0
    for i in range(n):
        for m in range(k):
            t2v = t2v - torch.log_softmax(v @ t[i, m] / tau, dim=0)[i]
    return (v2t + t2v / (n * k)) / 2


@pytest.mark.parametrize("k, symmetric, block", [(3, True, None), (2, False, 2), (4, True, 3)])
def test_equals_loop(k, symmetric, block):
    """Catches: a softmax per language (K separate InfoNCEs, the 1-to-1 baseline the paper
    replaces), other positives removed from the denominator, a sum instead of a mean over the K
    positives, the keys-to-query term over keys of the same query only."""
    g = torch.Generator().manual_seed(k)
    v = torch.randn(5, 4, generator=g, dtype=torch.float64)
    t = v[:, None] + 0.6 * torch.randn(5, k, 4, generator=g, dtype=torch.float64)
    a, b = v.clone().requires_grad_(True), t.clone().requires_grad_(True)
    ours = OneToK(temperature=0.2, symmetric=symmetric, block_size=block)(a, b)
    ours.backward()
    c, d = v.clone().requires_grad_(True), t.clone().requires_grad_(True)
    ref = one_to_k_loop(c, d, 0.2, symmetric)
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(a.grad, c.grad, atol=1e-10, rtol=1e-8)
    torch.testing.assert_close(b.grad, d.grad, atol=1e-10, rtol=1e-8)


def test_one_positive_is_clip():
    from concord.losses import InfoNCE

    g = torch.Generator().manual_seed(0)
    v, t = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    torch.testing.assert_close(OneToK(temperature=0.1)(v, t[:, None]),
                               InfoNCE(temperature=0.1, symmetric=True)(v, t))


def _worker(rank, world, v, t, sizes):
    rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
    a, b = v[rows].clone().requires_grad_(True), t[rows].clone().requires_grad_(True)
    loss = OneToK(temperature=0.2, gather=True)(a, b)
    loss.backward()
    return {"loss": loss.detach(), "grads": (a.grad, b.grad)}


@pytest.mark.distributed
def test_gather_equals_single_process_uneven():
    g = torch.Generator().manual_seed(9)
    v = torch.randn(5, 4, generator=g, dtype=torch.float64)
    t = torch.randn(5, 3, 4, generator=g, dtype=torch.float64)
    sizes = [2, 3]
    a, b = v.clone().requires_grad_(True), t.clone().requires_grad_(True)
    loss = OneToK(temperature=0.2)(a, b)
    loss.backward()
    for rank, r in enumerate(run_distributed(_worker, 2, v, t, sizes)):
        rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(r["grads"][0], a.grad[rows], atol=1e-10, rtol=1e-8)
        torch.testing.assert_close(r["grads"][1], b.grad[rows], atol=1e-10, rtol=1e-8)
