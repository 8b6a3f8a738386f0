"""Two CPU processes (gloo) on halves of a batch give the loss and the parameter gradients of
one process on the whole batch, for the CL4SRec, DuoRec and MCLRec encoder objectives -- the
rule of concord.distributed, as the trainer applies it (global means, gathered contrastive
terms, gradients summed over processes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from concord.distributed import sum_gradients
from concord.testing import run_distributed
from concord_sequence.losses import CL4SRecLoss, DuoRecLoss, MarginRegularizer, MCLRecLoss
from concord_sequence.models import MLPAugmenter, SASRec
from concord_sequence.training.rec_loss import rec_loss

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


def _per_rank_loss(name, z1, z2, y):
    z1, z2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    if name == "duorec_same_target":
        loss = DuoRecLoss(positives="same_target", gather=False)(z1, z2, y)
    else:
        loss = MarginRegularizer(gather=False)(z1, z2)
    loss.backward()
    return loss.detach(), z1.grad, z2.grad


def _per_rank_worker(rank, world_size, name, z1, z2, y, sizes):
    rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
    return _per_rank_loss(name, z1[rows], z2[rows], y[rows])


@pytest.mark.parametrize("name", ["duorec_same_target", "margin_regularizer"])
def test_gather_false_inside_a_process_group_is_the_per_rank_loss(name):
    """``gather=False`` under torchrun is documented as this rank's batch alone: value and
    gradients equal one process computing on that rank's rows only. Uneven batches (5 + 3 rows).
    Catches a loss that averages over the global count anyway (``global_mean``): its value is the
    global mean and its gradients are 1/W too small."""
    g = torch.Generator().manual_seed(4)
    z1 = torch.randn(8, 5, generator=g)
    z2 = z1 + 0.5 * torch.randn(8, 5, generator=g)
    y = torch.tensor([3, 3, 4, 5, 3, 6, 6, 7])
    sizes = (5, 3)
    results = run_distributed(_per_rank_worker, 2, name, z1, z2, y, sizes)
    start = 0
    for rank, (loss, g1, g2) in enumerate(results):
        rows = slice(start, start + sizes[rank])
        start += sizes[rank]
        want, w1, w2 = _per_rank_loss(name, z1[rows], z2[rows], y[rows])
        torch.testing.assert_close(loss, want, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(g1, w1, rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(g2, w2, rtol=1e-6, atol=1e-7)


def test_every_trained_batch_gives_every_process_a_row():
    """Exhausting small cases: a trained batch is split into non-empty contiguous shares that
    concatenate to it in rank order; a batch is dropped exactly when it has fewer than
    max(2, W) rows. Catches a plain ``array_split`` that hands a process an empty share (2 rows,
    3 processes), which then fails while the others wait in all_gather."""
    from concord_sequence.training.shard import local_rows

    for world in range(1, 6):
        for n in range(0, 12):
            rows = np.arange(100, 100 + n)
            shares = [local_rows(rows, r, world) for r in range(world)]
            if n < max(2, world):
                assert all(s is None for s in shares), (n, world)
                continue
            assert all(s is not None and len(s) >= 1 for s in shares), (n, world)
            assert np.array_equal(np.concatenate(shares), rows)
            assert max(map(len, shares)) - min(map(len, shares)) <= 1


def _train(rank, world_size, overrides, folder, data_file):
    from concord.run import Run, RunDir, load_config
    from concord_sequence.training.config import SequenceConfig
    from concord_sequence.training.loop import train

    torch.set_num_threads(1)
    cfg = load_config(SequenceConfig, None, [f"data.path={data_file}", *overrides])
    if rank == 0:
        run_dir = RunDir(folder)
        run_dir.write_config({})
    if world_size > 1:
        torch.distributed.barrier()
    run_dir = run_dir if rank == 0 else RunDir(folder, resume=True, writer=False)
    run_dir.budget = ("train.epochs", cfg.train.epochs)
    report = train(Run(cfg, run_dir, None, rank=rank, world_size=world_size))
    return report, run_dir.metrics() if rank == 0 else []


def test_training_under_two_processes_with_an_uneven_last_batch_equals_one_process(tmp_path):
    """SASRec without dropout (deterministic), 233 training prefixes in batches of 46: the last
    batch has 3 rows, split 2 + 1. Two processes must train exactly what one process trains on
    the same global batches: the per-epoch losses and the validation / test metrics agree."""
    from concord_sequence.data.synthetic import markov_chain_log, write_user_lines

    data_file = write_user_lines(tmp_path / "chain.txt",
                                 markov_chain_log(n_users=60, n_items=20, min_len=5, max_len=9, seed=0))
    overrides = ["method.name=sasrec", "data.max_len=8", "model.hidden=16", "model.layers=1",
                 "model.inner=32", "model.hidden_dropout=0.0", "model.attn_dropout=0.0",
                 "train.epochs=2", "train.batch_size=46", "train.lr=0.01", "train.patience=0",
                 "train.device=cpu", "eval.batch_size=64"]
    single_report, single_rows = _train(0, 1, overrides, str(tmp_path / "one"), str(data_file))
    results = run_distributed(_train, 2, overrides, str(tmp_path / "two"), str(data_file))
    report, rows = results[0]
    assert results[1][0] == {}
    assert len(rows) == len(single_rows) == 2
    for row, ref in zip(rows, single_rows):
        for key in ("loss", "valid_ndcg@10", "valid_mrr"):
            assert row[key] == pytest.approx(ref[key], rel=1e-4), key
    assert report == pytest.approx(single_report, rel=1e-4)


def test_a_last_batch_smaller_than_the_process_count_is_dropped_on_every_process(tmp_path):
    """233 prefixes in batches of 21 leave a last batch of 2 rows for 3 processes: it is dropped
    on all three (a process given no row used to fail inside the model while the others waited
    in the gradient all-reduce, until the run timed out)."""
    from concord_sequence.data.synthetic import markov_chain_log, write_user_lines

    data_file = write_user_lines(tmp_path / "chain.txt",
                                 markov_chain_log(n_users=60, n_items=20, min_len=5, max_len=9, seed=0))
    overrides = ["method.name=sasrec", "data.max_len=8", "model.hidden=8", "model.layers=1",
                 "model.inner=16", "train.epochs=1", "train.batch_size=21", "train.patience=0",
                 "train.device=cpu", "eval.batch_size=64"]
    results = run_distributed(_train, 3, overrides, str(tmp_path / "three"), str(data_file), timeout=120)
    assert [r[0] == {} for r in results] == [False, True, True]
    assert len(results[0][1]) == 1
