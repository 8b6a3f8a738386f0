"""InfoNCE against the formula written out, with queues, samplers and the CLIP symmetric form."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from concord.losses import InfoNCE
from concord.queue import MemoryQueue


def infonce_loop(q, k, neg, tau):
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    keys = k if neg is None else torch.cat([k, F.normalize(neg, dim=1)])
    total = 0.0
    for i in range(q.shape[0]):
        den = sum(math.exp(float(q[i] @ keys[j]) / tau) for j in range(keys.shape[0]))
        total += -math.log(math.exp(float(q[i] @ k[i]) / tau) / den)
    return total / q.shape[0]


def multi_positive_loop(q, keys, qy, ky, tau):
    """SupCon L_out written out for queries against a separate key set."""
    q, keys = F.normalize(q, dim=1), F.normalize(keys, dim=1)
    total, count = 0.0, 0
    for i in range(q.shape[0]):
        pos = [j for j in range(keys.shape[0]) if ky[j] == qy[i]]
        den = sum(math.exp(float(q[i] @ keys[a]) / tau) for a in range(keys.shape[0]))
        total += -sum(math.log(math.exp(float(q[i] @ keys[p]) / tau) / den) for p in pos) / len(pos)
        count += 1
    return total / count


def _data(seed=0, n=9, d=5, k=7):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g), torch.randn(k, d, generator=g)


def test_two_view_matches_loop():
    q, k, _ = _data()
    assert math.isclose(float(InfoNCE(temperature=0.2)(q, k)), infonce_loop(q, k, None, 0.2), rel_tol=1e-5)


def test_equals_cross_entropy_on_logits():
    q, k, _ = _data(1)
    logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / 0.07
    expected = F.cross_entropy(logits, torch.arange(q.shape[0]))
    torch.testing.assert_close(InfoNCE()(q, k), expected)


def test_extra_negatives_tensor_and_queue_match_loop():
    q, k, neg = _data(2)
    expected = infonce_loop(q, k, neg, 0.1)
    assert math.isclose(float(InfoNCE(temperature=0.1)(q, k, negatives=neg)), expected, rel_tol=1e-5)
    queue = MemoryQueue(size=7, dim=5)
    queue.enqueue(neg)
    assert math.isclose(float(InfoNCE(temperature=0.1)(q, k, negatives=queue)), expected, rel_tol=1e-5)


def test_symmetric_is_mean_of_both_directions():
    q, k, _ = _data(3)
    both = InfoNCE(symmetric=True, temperature=0.3)(q, k)
    one = InfoNCE(temperature=0.3)
    torch.testing.assert_close(both, (one(q, k) + one(k, q)) / 2)


def test_labels_sampler_matches_multi_positive_loop():
    q, k, neg = _data(4)
    qy = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    ny = torch.tensor([0, 0, 1, 1, 2, 2, 3])
    loss = InfoNCE(temperature=0.5, sampler="labels")
    got = loss(q, k, query_labels=qy, key_labels=qy, negatives=neg, negative_labels=ny)
    expected = multi_positive_loop(q, torch.cat([k, neg]), qy, torch.cat([qy, ny]), 0.5)
    assert math.isclose(float(got), expected, rel_tol=1e-5)


def test_labelled_queue_supplies_negative_labels():
    q, k, neg = _data(5)
    qy = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    ny = torch.tensor([0, 0, 1, 1, 2, 2, 3])
    queue = MemoryQueue(size=7, dim=5, with_labels=True)
    queue.enqueue(neg, ny)
    loss = InfoNCE(temperature=0.5, sampler="labels")
    torch.testing.assert_close(
        loss(q, k, query_labels=qy, key_labels=qy, negatives=queue),
        loss(q, k, query_labels=qy, key_labels=qy, negatives=neg, negative_labels=ny),
    )


def test_hard_negatives_keep_k_most_similar():
    q, k, _ = _data(6)
    kq = 3
    got = InfoNCE(temperature=0.2, sampler={"name": "hard_negatives", "k": kq})(q, k)
    qn, kn = F.normalize(q, dim=1), F.normalize(k, dim=1)
    total = 0.0
    for i in range(q.shape[0]):
        sims = [(float(qn[i] @ kn[j]), j) for j in range(k.shape[0]) if j != i]
        hard = [j for _, j in sorted(sims, key=lambda t: (-t[0], t[1]))[:kq]]
        den = math.exp(float(qn[i] @ kn[i]) / 0.2) + sum(math.exp(float(qn[i] @ kn[j]) / 0.2) for j in hard)
        total += -math.log(math.exp(float(qn[i] @ kn[i]) / 0.2) / den)
    assert math.isclose(float(got), total / q.shape[0], rel_tol=1e-5)


def test_empty_positives_error_and_explicit_ignore():
    q, k, _ = _data(7, n=4)
    qy = torch.tensor([0, 1, 2, 3])
    ky = torch.tensor([0, 1, 5, 5])
    with pytest.raises(ValueError, match="2 queries have no positive key"):
        InfoNCE(sampler="labels")(q, k, query_labels=qy, key_labels=ky)
    loss = InfoNCE(sampler="labels", empty_positives="ignore", temperature=0.4)
    got = loss(q, k, query_labels=qy, key_labels=ky)
    expected = multi_positive_loop(q[:2], k, qy[:2], ky, 0.4)
    assert math.isclose(float(got), expected, rel_tol=1e-5)


def test_blocked_equals_unblocked_with_sampler_and_gradients():
    q, k, neg = _data(8)
    qy = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    out = []
    for block in (None, 2):
        a = q.clone().requires_grad_(True)
        loss = InfoNCE(sampler="labels", block_size=block)(
            a, k, query_labels=qy, key_labels=qy, negatives=neg, negative_labels=torch.arange(7) % 4
        )
        loss.backward()
        out.append((loss.detach(), a.grad))
    torch.testing.assert_close(out[0][0], out[1][0])
    torch.testing.assert_close(out[0][1], out[1][1])


def test_bad_inputs():
    q, k, neg = _data(9)
    with pytest.raises(ValueError, match="symmetric=True cannot use extra negatives"):
        InfoNCE(symmetric=True)(q, k, negatives=neg)
    with pytest.raises(ValueError, match="needs labels for the extra negatives"):
        y = torch.arange(9)
        InfoNCE(sampler="labels")(q, k, query_labels=y, key_labels=y, negatives=neg)
    with pytest.raises(ValueError, match="negatives have dimension 3"):
        InfoNCE()(q, k, negatives=torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"no sampler named 'label'.*did you mean 'labels'"):
        InfoNCE(sampler="label")


def sum_positive_loop(q, keys, qy, ky, tau):
    """SupCon L_in / PixContrast Eq. 2 written out: -log(sum_pos e^s / sum_all e^s)."""
    q, keys = F.normalize(q, dim=1), F.normalize(keys, dim=1)
    total = 0.0
    for i in range(q.shape[0]):
        pos = sum(math.exp(float(q[i] @ keys[p]) / tau) for p in range(keys.shape[0]) if ky[p] == qy[i])
        den = sum(math.exp(float(q[i] @ keys[a]) / tau) for a in range(keys.shape[0]))
        total += -math.log(pos / den)
    return total / q.shape[0]


@pytest.mark.parametrize("block_size", [None, 2])
def test_positives_sum_matches_l_in_loop_and_differs_from_l_out(block_size):
    q, k, neg = _data(5)
    qy = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    ny = torch.tensor([0, 0, 1, 1, 2, 2, 3])
    kwargs = dict(query_labels=qy, key_labels=qy, negatives=neg, negative_labels=ny)
    got = InfoNCE(temperature=0.5, sampler="labels", positives="sum", block_size=block_size)(q, k, **kwargs)
    keys, ky = torch.cat([k, neg]), torch.cat([qy, ny])
    assert math.isclose(float(got), sum_positive_loop(q, keys, qy, ky, 0.5), rel_tol=1e-5)
    # L_in <= L_out (Jensen), strictly here: a "sum" that silently averaged would fail this
    assert float(got) < multi_positive_loop(q, keys, qy, ky, 0.5) - 1e-3


def test_positives_sum_skips_empty_rows_with_finite_gradient():
    q, k, _ = _data(6, n=4)
    q.requires_grad_(True)
    qy, ky = torch.tensor([0, 1, 2, 9]), torch.tensor([0, 1, 2, 3])
    loss = InfoNCE(sampler="labels", positives="sum", empty_positives="ignore")
    out = loss(q, k, query_labels=qy, key_labels=ky)
    out.backward()
    assert math.isclose(float(out), sum_positive_loop(q[:3].detach(), k, qy[:3], ky, 0.07), rel_tol=1e-5)
    assert bool(torch.isfinite(q.grad).all()) and bool((q.grad[3] == 0).all())
