"""CACR against the authors' within-group estimators written out with explicit loops, and
2 processes against one."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses.cacr import CACR
from concord.testing import run_distributed


def cacr_loop(views, tau_pos=1.0, tau_neg=1.0, alpha=1.0, beta=1.0, detach=False):
    """our_loss1 + our_loss2 of the authors' CIFAR code, one query at a time."""
    z = F.normalize(views, dim=-1)
    n, m, _ = z.shape
    ca = 0.0
    for x in range(m):
        for i in range(n):
            d2 = torch.stack([(z[i, x] - z[i, y]).pow(2).sum() for y in range(m) if y != x])
            w = torch.softmax(tau_pos * d2, dim=0)
            w = w.detach() if detach else w
            ca = ca + (w * alpha * d2).sum() / n
    ca = ca / m
    cr, pairs = 0.0, 0
    for x in range(m):
        for y in range(x + 1, m):
            for i in range(n):
                d2 = torch.stack([(z[i, x] - z[j, y]).pow(2).sum() for j in range(n) if j != i])
                w = torch.softmax(-tau_neg * d2, dim=0)
                w = w.detach() if detach else w
                cr = cr + (w * -beta * d2).sum() / n
            pairs += 1
    return ca + cr / pairs


@pytest.mark.parametrize("m, kw, block", [
    (2, {}, None),
    (3, {"tau_positive": 2.0, "tau_negative": 0.5, "alpha": 0.7, "beta": 1.5}, 2),
    (4, {"detach_weights": True}, None),
])
def test_equals_authors_estimators(m, kw, block):
    """Catches: attraction weights favouring *close* positives (sign of tau+), repulsion
    weights favouring far negatives, the query's own sample among its negatives, both view
    orders in the repulsion (the authors take m < m' only), weights detached when they should
    carry gradients (or the reverse)."""
    g = torch.Generator().manual_seed(m)
    v = torch.randn(5, m, 3, generator=g, dtype=torch.float64)
    names = {"tau_positive": "tau_pos", "tau_negative": "tau_neg", "alpha": "alpha", "beta": "beta",
             "detach_weights": "detach"}
    a = v.clone().requires_grad_(True)
    ours = CACR(block_size=block, **kw)(a)
    ours.backward()
    b = v.clone().requires_grad_(True)
    ref = cacr_loop(b, **{names[k]: val for k, val in kw.items()})
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(a.grad, b.grad, atol=1e-9, rtol=1e-7)


def _worker(rank, world, v, sizes):
    rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
    a = v[rows].clone().requires_grad_(True)
    loss = CACR(gather=True)(a)
    loss.backward()
    return {"loss": loss.detach(), "grad": a.grad}


@pytest.mark.distributed
def test_gather_equals_single_process_uneven():
    g = torch.Generator().manual_seed(7)
    v = torch.randn(7, 3, 4, generator=g, dtype=torch.float64)
    sizes = [3, 4]
    a = v.clone().requires_grad_(True)
    loss = CACR()(a)
    loss.backward()
    for rank, r in enumerate(run_distributed(_worker, 2, v, sizes)):
        rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(r["grad"], a.grad[rows], atol=1e-9, rtol=1e-7)
