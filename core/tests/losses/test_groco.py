"""GroCo: the sorting network against the `diffsort` package (Petersen et al.'s own), the loss
against the authors' compute_loss written out with diffsort's sorter, and 2 processes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses.groco import GroCo
from concord.losses.sorting_network import soft_sort
from concord.testing import run_distributed

diffsort = pytest.importorskip("diffsort")


@pytest.mark.parametrize("n, steepness, sigmoid", [(2, 1.0, "cauchy"), (5, 3.0, "cauchy"), (12, 1.0, "cauchy"),
                                                   (7, 2.0, "logistic")])
def test_soft_sort_equals_diffsort_odd_even(n, steepness, sigmoid):
    """Values, relaxed permutation and gradients. Catches: comparators of one layer applied in
    sequence, the permutation's rows mixed instead of its columns, alpha and 1 - alpha swapped
    (a descending sort), a missing last layer."""
    g = torch.Generator().manual_seed(n)
    x = torch.randn(4, n, generator=g, dtype=torch.float64)
    net = diffsort.DiffSortNet("odd_even", n, steepness=steepness, distribution=sigmoid)
    net.sorting_network = [[m.double() for m in layer] for layer in net.sorting_network]
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours_v, ours_p = soft_sort(a, steepness=steepness, sigmoid=sigmoid)
    ref_v, ref_p = net(b)
    torch.testing.assert_close(ours_v, ref_v)
    torch.testing.assert_close(ours_p, ref_p)
    weight = torch.randn(4, n, n, generator=g, dtype=torch.float64)
    ((ours_p * weight).sum() + ours_v.sum()).backward()
    ((ref_p * weight).sum() + ref_v.sum()).backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_steep_network_sorts_and_is_a_permutation():
    x = torch.tensor([[0.3, -1.0, 2.0, 0.1, 0.5]], dtype=torch.float64)
    values, p = soft_sort(x, steepness=1e6)
    torch.testing.assert_close(values, x.sort(dim=1).values, atol=1e-5, rtol=0)
    assert torch.allclose(p.sum(dim=1), torch.ones(1, 5, dtype=torch.float64))
    assert torch.allclose(p.sum(dim=2), torch.ones(1, 5, dtype=torch.float64))


def groco_reference(views, top_k, steepness=1.0, n_pos=None, stop_grad=True):
    """The authors' GroCo.forward / compute_loss, with diffsort's DiffSortNet as the sorter."""
    n, v, _ = views.shape
    n_pos = v if n_pos is None else n_pos
    total = 0.0
    for a in range(v):
        anchor = F.normalize(views[:, a], dim=1)
        pos = [F.normalize(views[:, p], dim=1) for p in range(n_pos) if p != a]
        pos_sims = torch.stack([F.cosine_similarity(anchor, p.detach() if stop_grad else p) for p in pos], dim=1)
        neg = anchor.detach() if stop_grad else anchor
        neg_sims = (anchor @ neg.T).masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
        pos_sims = torch.sort(pos_sims, dim=1).values
        neg_sims = torch.topk(neg_sims, k=top_k, dim=1).values.flip(1)
        sims = torch.cat([neg_sims, pos_sims], dim=1)
        sorter = diffsort.DiffSortNet("odd_even", sims.shape[1], steepness=steepness, distribution="cauchy")
        sorter.sorting_network = [[m.double() for m in layer] for layer in sorter.sorting_network]
        _, perm = sorter(sims)
        target = torch.eye(sims.shape[1], dtype=torch.float64).expand_as(perm)
        pred_neg = perm[:, :, :top_k].sum(2, keepdim=True).clip(0, 1)
        pred_pos = perm[:, :, top_k:].sum(2, keepdim=True).clip(0, 1)
        tgt_neg = target[:, :, :top_k].sum(2, keepdim=True)
        tgt_pos = target[:, :, top_k:].sum(2, keepdim=True)
        bce = torch.nn.BCELoss()
        total = total + (bce(pred_pos, tgt_pos) + bce(pred_neg, tgt_neg)) / 2
    return total / v


@pytest.mark.parametrize("v, kw", [(2, {"top_k": 3}), (3, {"top_k": 4, "steepness": 2.0}),
                                  (4, {"top_k": 2, "positive_views": 2}),
                                  (2, {"top_k": 3, "stop_gradient": False})])
def test_equals_authors_compute_loss(v, kw):
    """Catches: negatives from the other views instead of the anchor's own view, the top-k
    taken among the smallest similarities, the self-similarity among the negatives, positives
    of a small crop limited to n_pos - 1, gradients through the detached side."""
    g = torch.Generator().manual_seed(v + len(kw))
    views = torch.randn(9, v, 4, generator=g, dtype=torch.float64)
    a = views.clone().requires_grad_(True)
    ours = GroCo(**kw)(a)
    ours.backward()
    b = views.clone().requires_grad_(True)
    ref = groco_reference(b, kw["top_k"], kw.get("steepness", 1.0), kw.get("positive_views"),
                          kw.get("stop_gradient", True))
    ref.backward()
    torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=1e-8)


def _worker(rank, world, views, sizes):
    rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
    a = views[rows].clone().requires_grad_(True)
    loss = GroCo(top_k=3, stop_gradient=False, gather=True)(a)
    loss.backward()
    return {"loss": loss.detach(), "grad": a.grad}


@pytest.mark.distributed
def test_gather_equals_single_process_uneven():
    g = torch.Generator().manual_seed(3)
    views = torch.randn(9, 2, 4, generator=g, dtype=torch.float64)
    sizes = [4, 5]
    a = views.clone().requires_grad_(True)
    loss = GroCo(top_k=3, stop_gradient=False)(a)
    loss.backward()
    for rank, r in enumerate(run_distributed(_worker, 2, views, sizes)):
        rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-12, rtol=1e-10)
        torch.testing.assert_close(r["grad"], a.grad[rows], atol=1e-12, rtol=1e-8)
