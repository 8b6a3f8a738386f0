"""ConR against the paper's formula written out anchor by anchor, and 2 processes against one."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from concord.losses.conr import ConR
from concord.testing import run_distributed


def conr_loop(features, y, p, w=None, *, window=1.0, beta=4.0, tau=0.2, e=0.01, metric="l2"):
    """Views flattened; for anchor j: positives |y_j - y_i| <= window (not j), negatives label-far
    and prediction-close, S = w_j exp(e d); -mean over positives of log(exp(pos) / denominator)."""
    n, v, _ = features.shape
    z = F.normalize(features, dim=-1).transpose(0, 1).reshape(n * v, -1)
    y = (y[:, None] if y.dim() == 1 else y).repeat(v, 1)
    p = (p[:, None] if p.dim() == 1 else p).repeat(v, 1)
    w = torch.ones(n, dtype=features.dtype) if w is None else w
    w = w.repeat(v)

    def dist(a, b):
        d = (a - b).abs()
        return float(d.sum()) if metric == "l1" else math.sqrt(float((d**2).sum()))

    total = 0.0
    for j in range(n * v):
        pos = [i for i in range(n * v) if i != j and dist(y[j], y[i]) <= window]
        neg = [q for q in range(n * v) if q != j and dist(y[j], y[q]) > window
               and dist(p[j], p[q]) <= window]
        if not neg:
            continue  # contributes 0 (and still counts in the mean)
        denom = sum(torch.exp(z[j] @ z[i] / tau) for i in pos)
        denom = denom + sum(w[j] * math.exp(e * dist(y[j], y[q])) * torch.exp(z[j] @ z[q] / tau) for q in neg)
        term = -sum(torch.log(torch.exp(z[j] @ z[i] / tau) / denom) for i in pos) / len(pos)
        total = total + w[j] * term
    return beta * total / (n * v)


def _case(seed, n=8, d=4, v=2, dims=1):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(n, v, d, generator=g, dtype=torch.float64)
    y = torch.randint(0, 6, (n, dims), generator=g).double() * 0.8
    # a regressor that compresses its outputs: label-far samples with close predictions
    p = 0.3 * y + 0.3 * torch.randn(n, dims, generator=g, dtype=torch.float64)
    return f, y.squeeze(1) if dims == 1 else y, p.squeeze(1) if dims == 1 else p


@pytest.mark.parametrize("kw, dims, block", [
    ({}, 1, None),
    ({"window": 0.5, "e": 0.7, "temperature": 0.5}, 1, 3),
    ({"label_metric": "l1"}, 2, None),
    ({"label_metric": "l2", "window": 1.2}, 3, 5),
])
def test_equals_paper_formula_loop(kw, dims, block):
    """Catches: the authors' exp(0) = 1 terms for every non-positive key in the denominator,
    negatives not filtered by prediction distance, the pushing weight on positives too, rows
    without negatives left out of the mean (or given a non-zero term), an L1 distance where L2
    is asked for vector labels."""
    f, y, p = _case(dims + len(kw), dims=dims)
    loss_fn = ConR(block_size=block, **kw)
    a = f.clone().requires_grad_(True)
    ours = loss_fn(a, y, p)
    ours.backward()
    b = f.clone().requires_grad_(True)
    names = {"window": "window", "e": "e", "temperature": "tau", "label_metric": "metric"}
    ref = conr_loop(b, y, p, **{names[k]: val for k, val in kw.items()})
    assert isinstance(ref, torch.Tensor), "the case has negatives"
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(a.grad, b.grad, atol=1e-10, rtol=1e-8)


def test_sample_weights_enter_the_pushing_weight_and_the_mean():
    f, y, p = _case(9)
    w = torch.linspace(0.5, 2.0, 8, dtype=torch.float64)
    torch.testing.assert_close(ConR()(f, y, p, w), conr_loop(f, y, p, w))
    assert not torch.allclose(ConR()(f, y, p, w), ConR()(f, y, p))


def test_no_negative_anywhere_gives_zero():
    """Predictions all far apart from one another: no negative for any anchor."""
    f, y, _ = _case(10)
    p = torch.arange(8, dtype=torch.float64) * 10
    assert ConR()(f, y, p).item() == 0.0


def test_rows_without_positives_ignored_when_asked():
    f, y, p = _case(11, v=1)
    y = torch.arange(8, dtype=torch.float64) * 3  # every label alone
    p = torch.zeros(8, dtype=torch.float64)
    with pytest.raises(ValueError, match="no positive"):
        ConR()(f, y, p)
    assert ConR(empty_positives="ignore")(f[:, 0], torch.tensor([0.0, 0.1, 5.0, 9.0, 20.0, 30.0, 40.0, 50.0],
                                         dtype=torch.float64), p).item() >= 0


def _worker(rank, world, f, y, p, sizes):
    start = sum(sizes[:rank])
    rows = slice(start, start + sizes[rank])
    a = f[rows].clone().requires_grad_(True)
    loss = ConR(window=0.9, gather=True)(a, y[rows], p[rows])
    loss.backward()
    return {"loss": loss.detach(), "grad": a.grad}


@pytest.mark.distributed
def test_gather_equals_single_process_uneven():
    f, y, p = _case(12, n=9)
    sizes = [4, 5]
    a = f.clone().requires_grad_(True)
    loss = ConR(window=0.9)(a, y, p)
    loss.backward()
    for rank, r in enumerate(run_distributed(_worker, 2, f, y, p, sizes)):
        start = sum(sizes[:rank])
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(r["grad"], a.grad[start : start + sizes[rank]], atol=1e-10, rtol=1e-8)
