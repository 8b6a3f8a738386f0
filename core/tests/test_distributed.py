"""2 CPU processes (gloo): loss and gradients on each rank equal the single-process result on
the concatenated global batch, for every gathering component, and DDP parameter gradients
equal the single-process ones once the loss goes through ``scale_for_ddp``."""

from __future__ import annotations

import pytest
import torch

from concord import distributed
from concord.losses import DCLW, InfoNCE, NTXent, SupCon
from concord.queue import MemoryQueue
from concord.testing import run_distributed

pytestmark = pytest.mark.distributed


def _global(seed: int, n: int, *shape: int) -> torch.Tensor:
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


def _split(x: torch.Tensor, sizes: list[int], rank: int) -> torch.Tensor:
    start = sum(sizes[:rank])
    return x[start : start + sizes[rank]]


def _single(loss_fn, *tensors, **kwargs):
    leaves = [t.clone().requires_grad_(True) for t in tensors]
    loss = loss_fn(*leaves, **kwargs)
    loss.backward()
    return loss.detach(), [leaf.grad for leaf in leaves]


# -- workers (module level: forked children run them) ---------------------------------------
def _two_view_worker(rank, world, make_loss, z1, z2, sizes):
    a = _split(z1, sizes, rank).clone().requires_grad_(True)
    b = _split(z2, sizes, rank).clone().requires_grad_(True)
    loss = make_loss()(a, b)
    loss.backward()
    return {"loss": loss.detach(), "grads": [a.grad, b.grad]}


def _supcon_worker(rank, world, features, labels, sizes):
    f = _split(features, sizes, rank).clone().requires_grad_(True)
    loss = SupCon(temperature=0.2, gather=True)(f, _split(labels, sizes, rank))
    loss.backward()
    return {"loss": loss.detach(), "grad": f.grad}


def _queue_worker(rank, world, q, k, old_keys, old_labels, labels, sizes):
    queue = MemoryQueue(size=12, dim=q.shape[1], with_labels=True)
    for kb, lb in zip(old_keys, old_labels):
        queue.enqueue(_split(kb, sizes, rank), _split(lb, sizes, rank))
    qa = _split(q, sizes, rank).clone().requires_grad_(True)
    ka = _split(k, sizes, rank).clone().requires_grad_(True)
    y = _split(labels, sizes, rank)
    loss = InfoNCE(temperature=0.3, sampler="labels", gather=True)(
        qa, ka, negatives=queue, query_labels=y, key_labels=y
    )
    loss.backward()
    return {"loss": loss.detach(), "grads": [qa.grad, ka.grad], "queue": queue.keys(),
            "queue_labels": queue.labels()}


def _ddp_worker(rank, world, x1, x2, sizes, init_state):
    from torch.nn.parallel import DistributedDataParallel as DDP

    model = torch.nn.Linear(x1.shape[1], 3)
    model.load_state_dict(init_state)
    ddp = DDP(model)
    loss_fn = NTXent(temperature=0.5, gather=True)
    loss = distributed.scale_for_ddp(loss_fn(ddp(_split(x1, sizes, rank)), ddp(_split(x2, sizes, rank))))
    loss.backward()
    return {"loss": loss.detach(), "grads": [p.grad.clone() for p in model.parameters()]}


# -- tests ---------------------------------------------------------------------------------
def _check_two_view(make_loss, single_loss, sizes, seed):
    n = sum(sizes)
    z1, z2 = _global(seed, n, 5), _global(seed + 1, n, 5)
    loss, (g1, g2) = _single(single_loss, z1, z2)
    results = run_distributed(_two_view_worker, 2, make_loss, z1, z2, sizes)
    for rank, r in enumerate(results):
        torch.testing.assert_close(r["loss"], loss, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(r["grads"][0], _split(g1, sizes, rank), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(r["grads"][1], _split(g2, sizes, rank), atol=1e-5, rtol=1e-5)


def _nt_xent_gather():
    return NTXent(temperature=0.3, gather=True)


def _dclw_gather():
    return DCLW(gather=True)


def _dclw_gather_detached():
    return DCLW(gather=True, detach_weight=True)


@pytest.mark.parametrize("sizes", [[4, 4], [3, 6]])
def test_nt_xent_gather_equals_single_process(sizes):
    _check_two_view(_nt_xent_gather, NTXent(temperature=0.3), sizes, seed=0)


def test_dclw_gather_equals_single_process():
    """The default weight is differentiated through the gathered softmax: each rank must get the
    weight-gradient of every rank's positive terms (a gather_no_grad there would lose it)."""
    _check_two_view(_dclw_gather, DCLW(), [5, 5], seed=10)
    _check_two_view(_dclw_gather_detached, DCLW(detach_weight=True), [3, 6], seed=11)


def test_sup_con_gather_equals_single_process():
    sizes = [5, 5]
    features = _global(2, 10, 2, 4)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 3])
    loss, (grad,) = _single(lambda f: SupCon(temperature=0.2)(f, labels), features)
    for rank, r in enumerate(run_distributed(_supcon_worker, 2, features, labels, sizes)):
        torch.testing.assert_close(r["loss"], loss, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(r["grad"], _split(grad, sizes, rank), atol=1e-5, rtol=1e-5)


def test_memory_queue_identical_on_every_rank_and_loss_equals_single_process():
    sizes = [3, 3]
    d = 4
    old_keys = [_global(20 + i, 6, d) for i in range(3)]  # 18 keys through a 12-key queue
    old_labels = [torch.randint(0, 3, (6,), generator=torch.Generator().manual_seed(30 + i)) for i in range(3)]
    q, k = _global(40, 6, d), _global(41, 6, d)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    single_queue = MemoryQueue(size=12, dim=d, with_labels=True)
    for kb, lb in zip(old_keys, old_labels):
        single_queue.enqueue(kb, lb)
    loss, (gq, gk) = _single(
        lambda a, b: InfoNCE(temperature=0.3, sampler="labels")(
            a, b, negatives=single_queue, query_labels=labels, key_labels=labels
        ),
        q, k,
    )
    results = run_distributed(_queue_worker, 2, q, k, old_keys, old_labels, labels, sizes)
    for rank, r in enumerate(results):
        torch.testing.assert_close(r["queue"], single_queue.keys())
        assert torch.equal(r["queue_labels"], single_queue.labels())
        torch.testing.assert_close(r["loss"], loss, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(r["grads"][0], _split(gq, sizes, rank), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(r["grads"][1], _split(gk, sizes, rank), atol=1e-5, rtol=1e-5)


def test_ddp_parameter_gradients_equal_single_process_with_scale_for_ddp():
    sizes = [4, 4]
    x1, x2 = _global(50, 8, 6), _global(51, 8, 6)
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 3)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    loss = NTXent(temperature=0.5)(model(x1), model(x2))
    loss.backward()
    expected = [p.grad.clone() for p in model.parameters()]
    for r in run_distributed(_ddp_worker, 2, x1, x2, sizes, init):
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-5, rtol=1e-5)
        for got, want in zip(r["grads"], expected):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _sum_gradients_worker(rank, world, x1, x2, sizes, init_state):
    model = torch.nn.Sequential(torch.nn.Linear(x1.shape[1], 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    model.load_state_dict(init_state)
    model[2].bias.requires_grad_(False)  # a parameter without gradient is skipped on every rank
    loss = NTXent(temperature=0.5, gather=True)(model(_split(x1, sizes, rank)), model(_split(x2, sizes, rank)))
    loss.backward()
    distributed.sum_gradients(model.parameters())
    return {"loss": loss.detach(), "grads": [p.grad.clone() for p in model.parameters() if p.grad is not None]}


@pytest.mark.parametrize("sizes", [[4, 4], [2, 5]])
def test_sum_gradients_gives_the_single_process_parameter_gradient(sizes):
    """Without DDP: the local parts of the gradient summed over ranks equal the single-process
    gradient of the global batch, uneven batches included (averaging instead, as DDP does,
    would give half of it)."""
    n = sum(sizes)
    x1, x2 = _global(60, n, 6), _global(61, n, 6)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    model[2].bias.requires_grad_(False)
    loss = NTXent(temperature=0.5)(model(x1), model(x2))
    loss.backward()
    expected = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    for r in run_distributed(_sum_gradients_worker, 2, x1, x2, sizes, init):
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-5, rtol=1e-5)
        assert len(r["grads"]) == len(expected)
        for got, want in zip(r["grads"], expected):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _local_worker(rank, world, z1, z2, sizes):
    a = _split(z1, sizes, rank).clone().requires_grad_(True)
    b = _split(z2, sizes, rank).clone().requires_grad_(True)
    loss = NTXent(temperature=0.3)(a, b)
    loss.backward()
    return {"loss": loss.detach(), "grad": a.grad}


def test_without_gather_each_rank_computes_its_local_loss():
    sizes = [4, 4]
    z1, z2 = _global(60, 8, 5), _global(61, 8, 5)
    for rank, r in enumerate(run_distributed(_local_worker, 2, z1, z2, sizes)):
        loss, (g1, _) = _single(NTXent(temperature=0.3), _split(z1, sizes, rank), _split(z2, sizes, rank))
        torch.testing.assert_close(r["loss"], loss)
        torch.testing.assert_close(r["grad"], g1)


def test_single_process_functions_are_identity():
    x = torch.randn(3, 2, requires_grad=True)
    g = distributed.gather(x)
    assert g.tensor is x and g.offset == 0 and g.sizes == (3,)
    assert distributed.world_size() == 1 and distributed.rank() == 0
    loss = x.sum()
    assert distributed.scale_for_ddp(loss) is loss
    torch.testing.assert_close(distributed.global_mean(torch.tensor(6.0), 3), torch.tensor(2.0))


def test_init_from_env_outside_torchrun(monkeypatch):
    from concord.distributed import init_from_env

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_from_env() == (0, 1)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert init_from_env() == (0, 1)
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer"):
        init_from_env()


def _torchrun_like(code: str) -> list[str]:
    """Run ``code`` in two processes with the environment torchrun gives; their stdouts."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for r in range(2):
        env = dict(os.environ, WORLD_SIZE="2", RANK=str(r), LOCAL_RANK=str(r),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err
    return [out for out, _ in outs]


def test_init_from_env_joins_the_group_torchrun_describes():
    """Two processes given torchrun's environment variables join one gloo group."""
    code = (
        "import torch, torch.distributed as dist\n"
        "from concord.distributed import init_from_env\n"
        "r, w = init_from_env()\n"
        "x = torch.tensor([r + 1.0]); dist.all_reduce(x)\n"
        "print(r, w, int(x.item())); dist.destroy_process_group()\n"
    )
    outs = _torchrun_like(code)
    assert sorted(out.split() for out in outs) == [["0", "2", "3"], ["1", "2", "3"]]


def test_launched_waits_for_every_rank_then_destroys_the_group():
    """``launched()``: a rank that finishes first leaves the block only after the slow rank
    does (the barrier), and both leave with no process group. Each rank prints
    (rank, block end, exit time)."""
    code = (
        "import time, torch, torch.distributed as dist\n"
        "from concord.distributed import launched\n"
        "with launched() as (r, w):\n"
        "    assert dist.is_initialized() and w == 2\n"
        "    time.sleep(1.5 if r == 0 else 0.0)\n"
        "    done = time.time()\n"
        "left = time.time()\n"
        "assert not dist.is_initialized()\n"
        "print(r, done, left)\n"
    )
    rows = sorted(tuple(float(v) for v in out.split()) for out in _torchrun_like(code))
    (_, slow_done, _), (_, _, fast_left) = rows
    assert fast_left >= slow_done


def test_launched_destroys_the_group_when_the_block_raises():
    """An exception inside the block propagates and leaves no process group (no barrier: the
    other ranks may never get there)."""
    code = (
        "import torch.distributed as dist\n"
        "from concord.distributed import launched\n"
        "try:\n"
        "    with launched() as (r, w):\n"
        "        raise KeyError('boom')\n"
        "except KeyError:\n"
        "    print(r, dist.is_initialized())\n"
    )
    assert sorted(out.split() for out in _torchrun_like(code)) == [["0", "False"], ["1", "False"]]
