"""Two CPU processes (gloo) on halves of a batch give the loss and the parameter gradients of
one process on the whole batch, for the CL4SRec, DuoRec and MCLRec encoder objectives -- the
rule of concord.distributed, as the trainer applies it (global means, gathered contrastive
terms, gradients summed over processes)."""

from __future__ import annotations

import pytest
import torch

from concord.distributed import sum_gradients
from concord.testing import run_distributed
from concord_sequence.losses import CL4SRecLoss, DuoRecLoss, MCLRecLoss
from concord_sequence.models import MLPAugmenter, SASRec
from concord_sequence.training.objectives import rec_loss

pytestmark = pytest.mark.distributed


def _inputs():
    g = torch.Generator().manual_seed(0)
    n, width = 8, 6
    lengths = torch.randint(1, width + 1, (3, n), generator=g)
    items = torch.randint(1, 13, (3, n, width), generator=g)
    items[torch.arange(width)[None, None, :] >= lengths[..., None]] = 0
    targets = torch.randint(1, 13, (n,), generator=g)
    targets[1] = targets[0]  # a same-target pair for DuoRec's supervised positives
    return items, lengths, targets


def _objective(method, rows, items, lengths, targets):
    torch.manual_seed(0)
    model = SASRec(12, max_len=6, hidden=8, layers=1, heads=2, inner=16, hidden_dropout=0.0, attn_dropout=0.0)
    a1, a2 = MLPAugmenter(8), MLPAugmenter(8)
    enc = [model(items[v, rows], lengths[v, rows]) for v in range(3)]
    y = targets[rows]
    loss = rec_loss(enc[0], model.item_weights(), y)
    if method == "cl4srec":
        loss = loss + 0.1 * CL4SRecLoss(gather=True)(enc[1], enc[2])
    elif method == "duorec":
        loss = loss + 0.1 * DuoRecLoss(gather=True)(enc[1], enc[2], y)
    elif method == "duorec_same_target":
        loss = loss + 0.1 * DuoRecLoss(positives="same_target", gather=True)(enc[1], enc[2], y)
    else:
        loss = loss + MCLRecLoss(lmd=0.1, beta=0.5, gather=True)(enc[1], enc[2], a1(enc[1]), a2(enc[2]))
    loss.backward()
    params = [*model.parameters(), *a1.parameters(), *a2.parameters()]
    sum_gradients(params)
    return loss.detach(), [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in params]


def _worker(rank, world_size, method, data):
    items, lengths, targets = data
    n = targets.shape[0]
    rows = torch.arange(rank * n // world_size, (rank + 1) * n // world_size)
    return _objective(method, rows, items, lengths, targets)


@pytest.mark.parametrize("method", ["cl4srec", "duorec", "duorec_same_target", "mclrec"])
def test_two_processes_equal_one_process_on_the_global_batch(method):
    data = _inputs()
    single_loss, single_grads = _objective(method, torch.arange(8), *data)
    results = run_distributed(_worker, 2, method, data)
    for loss, grads in results:
        torch.testing.assert_close(loss, single_loss, rtol=1e-5, atol=1e-6)
        for g, ref in zip(grads, single_grads):
            torch.testing.assert_close(g, ref, rtol=1e-4, atol=1e-6)
