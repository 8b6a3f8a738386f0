"""MemoryQueue: FIFO order, wrap-around, labels, state_dict resume."""

from __future__ import annotations

import pytest
import torch

from concord.queue import MemoryQueue


def test_fifo_with_wrap_around():
    q = MemoryQueue(size=5, dim=2)
    assert len(q) == 0 and q.keys().shape == (0, 2)
    batches = [torch.full((2, 2), float(i)) for i in range(4)]  # 8 keys into 5 slots
    history = []
    for b in batches:
        q.enqueue(b)
        history.extend(b.tolist())
        assert q.keys().tolist() == history[-5:]
    assert len(q) == 5


def test_larger_batch_than_queue_keeps_newest():
    q = MemoryQueue(size=3, dim=1)
    q.enqueue(torch.arange(7, dtype=torch.float32)[:, None])
    assert q.keys().flatten().tolist() == [4.0, 5.0, 6.0]


def test_labels_follow_keys_and_state_dict_round_trip():
    q = MemoryQueue(size=4, dim=2, with_labels=True)
    q.enqueue(torch.randn(3, 2), torch.tensor([1, 2, 3]))
    q.enqueue(torch.randn(2, 2), torch.tensor([4, 5]))
    assert q.labels().tolist() == [2, 3, 4, 5]
    r = MemoryQueue(size=4, dim=2, with_labels=True)
    r.load_state_dict(q.state_dict())
    torch.testing.assert_close(r.keys(), q.keys())
    assert r.labels().tolist() == [2, 3, 4, 5]
    q.enqueue(torch.ones(1, 2), torch.tensor([6]))
    r.enqueue(torch.ones(1, 2), torch.tensor([6]))
    torch.testing.assert_close(r.keys(), q.keys())


def test_enqueue_detaches():
    q = MemoryQueue(size=4, dim=2)
    x = torch.randn(2, 2, requires_grad=True)
    q.enqueue(x)
    assert not q.keys().requires_grad


def test_errors():
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        MemoryQueue(size=0, dim=2)
    q = MemoryQueue(size=4, dim=2)
    with pytest.raises(ValueError, match="dimension 3, the queue holds 2"):
        q.enqueue(torch.randn(1, 3))
    with pytest.raises(ValueError, match="with_labels=False"):
        q.enqueue(torch.randn(1, 2), torch.tensor([1]))
    with pytest.raises(ValueError, match="pass labels"):
        MemoryQueue(size=4, dim=2, with_labels=True).enqueue(torch.randn(1, 2))
    with pytest.raises(ValueError, match="non-finite"):
        q.enqueue(torch.full((1, 2), float("nan")))
