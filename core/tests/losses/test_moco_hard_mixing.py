"""MoCHi against the paper's mixing written out one query at a time, and 2 processes against one."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses import InfoNCE
from concord.losses.moco_hard_mixing import MoCHi
from concord.queue import MemoryQueue
from concord.testing import run_distributed


def mochi_loop(q, k, neg, draws, tau, n_hardest):
    """Per query: sort the queue by similarity, keep the N hardest, build h_k = normalise(a n_i +
    (1 - a) n_j) and h'_k = normalise(b q + (1 - b) n_j) (detached), then -log softmax of the
    positive among [positive, other batch keys, queue, synthetic]."""
    q, k, neg = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(neg, dim=1)
    total = 0.0
    for i in range(len(q)):
        order = sorted(range(len(neg)), key=lambda j: -float(q[i].detach() @ neg[j]))
        hard = neg[order[: min(n_hardest, len(neg))]]
        synthetic = []
        for a, b, alpha in zip(draws.first[i], draws.second[i], draws.alpha[i]):
            alpha = float(alpha)  # the mixing itself in the embeddings' precision
            synthetic.append(F.normalize(alpha * hard[a] + (1 - alpha) * hard[b], dim=0))
        for c, beta in zip(draws.partner[i], draws.beta[i]):
            beta = float(beta)
            synthetic.append(F.normalize(beta * q[i].detach() + (1 - beta) * hard[c], dim=0))
        logits = [q[i] @ k[i]] + [q[i] @ k[j] for j in range(len(k)) if j != i]
        logits += [q[i] @ n for n in neg] + [q[i] @ h.detach() for h in synthetic]
        logits = torch.stack(logits) / tau
        total = total - torch.log_softmax(logits, dim=0)[0]
    return total / len(q)


def _data(seed, b=5, d=4, k=9, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, dtype=dtype) for n in (b, b, k)]


@pytest.mark.parametrize("n_hardest, s, s_prime, block", [(4, 6, 3, None), (20, 3, 0, 2), (2, 0, 5, 3)])
def test_equals_per_query_loop(n_hardest, s, s_prime, block):
    """Catches: the easiest instead of the hardest negatives, mixtures left unnormalised,
    beta drawn from U(0, 1), gradients flowing into the synthetic points, the synthetic points of
    one query shared with the others."""
    q, k, neg = _data(n_hardest)
    loss_fn = MoCHi(temperature=0.3, n_hardest=n_hardest, n_mix=s, n_query_mix=s_prime, block_size=block)
    q1, k1 = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    ours = loss_fn(q1, k1, negatives=neg, generator=torch.Generator().manual_seed(11))
    ours.backward()
    draws = loss_fn.draw(len(q), min(n_hardest, len(neg)), torch.Generator().manual_seed(11))
    assert bool((draws.beta < 0.5).all()) and bool((draws.beta >= 0).all())
    q2, k2 = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    ref = mochi_loop(q2, k2, neg, draws, 0.3, n_hardest)
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(q1.grad, q2.grad, atol=1e-10, rtol=1e-8)
    torch.testing.assert_close(k1.grad, k2.grad, atol=1e-10, rtol=1e-8)


def test_without_mixing_it_is_info_nce_with_the_queue_and_mixing_makes_it_harder():
    q, k, neg = _data(1)
    plain = InfoNCE(temperature=0.2)(q, k, negatives=neg)
    torch.testing.assert_close(MoCHi(n_mix=0, n_query_mix=0)(q, k, negatives=neg), plain)
    torch.testing.assert_close(MoCHi()(q, k, negatives=neg[:0]), InfoNCE(temperature=0.2)(q, k))
    assert float(MoCHi(n_hardest=3, n_mix=8, n_query_mix=8)(q, k, negatives=neg)) > float(plain)


def test_memory_queue_is_read_like_a_tensor():
    q, k, neg = _data(2, dtype=torch.float32)
    queue = MemoryQueue(size=9, dim=4)
    queue.enqueue(neg)
    loss_fn = MoCHi(n_hardest=4, n_mix=3, n_query_mix=2)
    a = loss_fn(q, k, negatives=queue, generator=torch.Generator().manual_seed(0))
    b = loss_fn(q, k, negatives=neg, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b)


def _worker(rank, world, q, k, old, sizes):
    queue = MemoryQueue(size=8, dim=q.shape[1])
    queue = queue.double()
    start = sum(sizes[:rank])
    for batch in old:
        queue.enqueue(batch[start : start + sizes[rank]])
    a = q[start : start + sizes[rank]].clone().requires_grad_(True)
    b = k[start : start + sizes[rank]].clone().requires_grad_(True)
    loss = MoCHi(n_hardest=5, n_mix=4, n_query_mix=2, gather=True)(
        a, b, negatives=queue, generator=torch.Generator().manual_seed(3))
    loss.backward()
    return {"loss": loss.detach(), "grads": (a.grad, b.grad)}


@pytest.mark.distributed
def test_two_processes_equal_one_with_the_queue_uneven():
    """The queue is gathered on enqueue (identical on both ranks), the draws are made for the
    global batch and sliced, the keys are gathered: each rank's loss and gradients equal the
    single-process ones (drawing per rank for local rows would give each query other mixtures)."""
    sizes = [2, 4]
    g = torch.Generator().manual_seed(8)
    q, k = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(6, 4, generator=g, dtype=torch.float64)
    old = [torch.randn(6, 4, generator=g, dtype=torch.float64) for _ in range(2)]
    queue = MemoryQueue(size=8, dim=4).double()
    for batch in old:
        queue.enqueue(batch)
    a, b = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    loss = MoCHi(n_hardest=5, n_mix=4, n_query_mix=2)(a, b, negatives=queue,
                                                      generator=torch.Generator().manual_seed(3))
    loss.backward()
    for rank, r in enumerate(run_distributed(_worker, 2, q, k, old, sizes)):
        start = sum(sizes[:rank])
        rows = slice(start, start + sizes[rank])
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(r["grads"][0], a.grad[rows], atol=1e-10, rtol=1e-8)
        torch.testing.assert_close(r["grads"][1], b.grad[rows], atol=1e-10, rtol=1e-8)
