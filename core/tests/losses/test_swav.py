"""SwAV against the authors' training loop written out (float64, exponentiating Sinkhorn), the
log-domain Sinkhorn in half precision, prototype freezing / normalisation, the queue, and
2 processes against one."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses.sinkhorn import sinkhorn_knopp
from concord.losses.swav import SwAV
from concord.testing import run_distributed


def authors_sinkhorn(out: torch.Tensor, eps: float, iters: int) -> torch.Tensor:
    """SwAV's distributed_sinkhorn on one process: exponentiate, then alternate the rescalings."""
    q = torch.exp(out / eps).T
    k, b = q.shape
    q = q / q.sum()
    for _ in range(iters):
        q = q / q.sum(dim=1, keepdim=True) / k
        q = q / q.sum(dim=0, keepdim=True) / b
    return (q * b).T


def swav_reference(features, protos, *, tau=0.1, eps=0.05, iters=3, assign=2, queues=None):
    """The authors' loss loop: codes from crops_for_assign (queue rows first, then the batch),
    each predicted from every other crop, sub-loss / (V - 1), total / len(crops_for_assign).
    ``protos`` are the (already unit-norm) prototypes, a leaf: the authors normalise in place."""
    z = F.normalize(features, dim=-1)
    n, v, _ = z.shape
    output = [z[:, t] @ protos.T for t in range(v)]
    loss = 0.0
    for s in range(assign):
        with torch.no_grad():
            out = output[s].detach()
            if queues is not None:
                out = torch.cat([queues[s] @ protos.T, out])
            q = authors_sinkhorn(out, eps, iters)[-n:]
        sub = 0.0
        for t in range(v):
            if t != s:
                sub = sub - torch.mean(torch.sum(q * F.log_softmax(output[t] / tau, dim=1), dim=1))
        loss = loss + sub / (v - 1)
    return loss / assign


def _leaves(seed, n=6, v=4, d=5, k=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, v, d, generator=g, dtype=torch.float64), k


@pytest.mark.parametrize("v, assign, seed", [(2, 2, 0), (4, 2, 1), (3, 1, 2)])
def test_equals_authors_loop_values_and_gradients(v, assign, seed):
    """Catches: codes from the low-resolution crops, a crop predicting its own code, the
    sub-loss summed instead of averaged over V - 1, a sum over coded views, 1/tau on the codes,
    rows and columns rescaled in the other order."""
    features, k = _leaves(seed, v=v)
    loss_fn = SwAV(dim=5, n_prototypes=k, assign_views=assign, freeze_prototypes_iters=0).double()
    f1 = features.clone().requires_grad_(True)
    ours = loss_fn(f1)
    ours.backward()
    protos = loss_fn.prototypes.detach().clone().requires_grad_(True)  # normalised by the call
    f2 = features.clone().requires_grad_(True)
    ref = swav_reference(f2, protos, assign=assign)
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(f1.grad, f2.grad, atol=1e-10, rtol=1e-8)
    torch.testing.assert_close(loss_fn.prototypes.grad, protos.grad, atol=1e-10, rtol=1e-8)


def test_sinkhorn_equals_the_authors_algorithm_and_balances():
    g = torch.Generator().manual_seed(3)
    scores = F.normalize(torch.randn(12, 5, generator=g, dtype=torch.float64), dim=1)
    for iters in (1, 3, 10):
        torch.testing.assert_close(
            sinkhorn_knopp(scores, iterations=iters), authors_sinkhorn(scores, 0.05, iters)
        )
    q = sinkhorn_knopp(scores, iterations=500)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(12, dtype=torch.float64))
    torch.testing.assert_close(q.sum(dim=0), torch.full((5,), 12 / 5, dtype=torch.float64))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_unnormalised_half_precision_features_give_finite_codes_and_loss(dtype):
    """Features of norm ~300 in fp16 / bf16: exponentiating first (the authors' code) overflows
    to inf and returns NaN codes even in float32; the log-domain codes match float64's."""
    g = torch.Generator().manual_seed(4)
    features = (300 * torch.randn(8, 2, 6, generator=g)).to(dtype)
    loss_fn = SwAV(dim=6, n_prototypes=5, normalize=False, freeze_prototypes_iters=0)
    scores = features[:, 0].float() @ F.normalize(loss_fn.prototypes.detach(), dim=1).T
    assert not bool(torch.isfinite(authors_sinkhorn(scores, 0.05, 3)).all())
    codes = sinkhorn_knopp(scores.to(dtype))
    assert codes.dtype == torch.float32 and bool(torch.isfinite(codes).all())
    torch.testing.assert_close(codes.double(), sinkhorn_knopp(scores.to(dtype).double()),
                               atol=1e-5, rtol=1e-4)
    f = features.clone().requires_grad_(True)
    loss = loss_fn(f)
    loss.backward()
    assert bool(torch.isfinite(loss)) and bool(torch.isfinite(f.grad.float()).all())


def test_prototypes_frozen_for_the_first_iterations_then_trained():
    features, k = _leaves(5, v=2)
    loss_fn = SwAV(dim=5, n_prototypes=k, freeze_prototypes_iters=2).double()
    for step in range(4):
        loss_fn.zero_grad()
        loss_fn(features.clone().requires_grad_(True)).backward()
        assert (loss_fn.prototypes.grad is None) == (step < 2), step
    assert int(loss_fn.iteration) == 4
    state = loss_fn.state_dict()
    again = SwAV(dim=5, n_prototypes=k, freeze_prototypes_iters=2).double()
    again.load_state_dict(state)
    assert int(again.iteration) == 4
    loss_fn.eval()
    loss_fn(features)
    assert int(loss_fn.iteration) == 4, "evaluation calls are not training iterations"


def test_training_call_renormalises_the_prototypes_in_place():
    loss_fn = SwAV(dim=5, n_prototypes=7)
    assert not torch.allclose(loss_fn.prototypes.norm(dim=1), torch.ones(7))
    loss_fn(torch.randn(4, 2, 5))
    torch.testing.assert_close(loss_fn.prototypes.detach().norm(dim=1), torch.ones(7))


def test_queue_joins_sinkhorn_once_full():
    """queue_size 8 with batches of 4: calls 1-2 fill it (unused), call 3 uses the 8 keys of
    calls 1-2. Catches: a queue used before it is full, the current batch enqueued before it is
    scored (it would be its own extra sample), codes of the queue rows returned."""
    g = torch.Generator().manual_seed(6)
    batches = [torch.randn(4, 3, 5, generator=g, dtype=torch.float64) for _ in range(3)]
    loss_fn = SwAV(dim=5, n_prototypes=6, queue_size=8, freeze_prototypes_iters=0).double()
    values = [loss_fn(b) for b in batches]
    protos = loss_fn.prototypes.detach()
    torch.testing.assert_close(values[0], swav_reference(batches[0], protos))
    torch.testing.assert_close(values[1], swav_reference(batches[1], protos))
    queues = [torch.cat([F.normalize(b[:, s], dim=1) for b in batches[:2]]) for s in range(2)]
    torch.testing.assert_close(values[2], swav_reference(batches[2], protos, queues=queues))
    assert not torch.allclose(values[2], swav_reference(batches[2], protos))
    # use_queue=False: neither used nor filled
    before = [q.keys().clone() for q in loss_fn.queues]
    torch.testing.assert_close(loss_fn(batches[0], use_queue=False), swav_reference(batches[0], protos))
    for q, b in zip(loss_fn.queues, before):
        torch.testing.assert_close(q.keys(), b)


def _worker(rank, world, batches, sizes, state):
    loss_fn = SwAV(dim=5, n_prototypes=6, queue_size=8, freeze_prototypes_iters=0, gather=True).double()
    loss_fn.load_state_dict(state)
    start = sum(sizes[:rank])
    out = []
    for b in batches:
        loss_fn.zero_grad()
        f = b[start : start + sizes[rank]].clone().requires_grad_(True)
        loss = loss_fn(f)
        loss.backward()
        out.append({"loss": loss.detach(), "grad": f.grad, "proto_grad": loss_fn.prototypes.grad.clone()})
    return {"steps": out, "queue": loss_fn.queues[0].keys()}


@pytest.mark.distributed
def test_two_processes_equal_one_with_queue_uneven():
    """Sinkhorn's row sums over both processes, the queue counted once, the mean over the global
    batch: loss and feature gradients on each rank equal the single-process ones; prototype
    gradients summed over ranks (sum_gradients) equal the single-process gradient."""
    sizes = [3, 5]
    g = torch.Generator().manual_seed(7)
    batches = [torch.randn(8, 3, 5, generator=g, dtype=torch.float64) for _ in range(3)]
    single = SwAV(dim=5, n_prototypes=6, queue_size=8, freeze_prototypes_iters=0).double()
    state = {k: v.clone() for k, v in single.state_dict().items()}
    expected = []
    for b in batches:
        single.zero_grad()
        f = b.clone().requires_grad_(True)
        loss = single(f)
        loss.backward()
        expected.append((loss.detach(), f.grad, single.prototypes.grad.clone()))
    results = run_distributed(_worker, 2, batches, sizes, state)
    for step, (loss, grad, proto_grad) in enumerate(expected):
        total = sum(r["steps"][step]["proto_grad"] for r in results)
        torch.testing.assert_close(total, proto_grad, atol=1e-10, rtol=1e-8)
        for rank, r in enumerate(results):
            start = sum(sizes[:rank])
            got = r["steps"][step]
            torch.testing.assert_close(got["loss"], loss, atol=1e-10, rtol=1e-10)
            torch.testing.assert_close(got["grad"], grad[start : start + sizes[rank]], atol=1e-10, rtol=1e-8)
    for r in results:
        torch.testing.assert_close(r["queue"], single.queues[0].keys())
