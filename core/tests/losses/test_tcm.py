"""TCM against pytorch-metric-learning's ThresholdConsistentMarginLoss and a pair-by-pair loop."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses.tcm import TCM
from concord.testing import run_distributed


def tcm_loop(z, y, m_pos=0.9, m_neg=0.5, l_pos=1.0, l_neg=1.0):
    """The paper's two hinge means, one ordered pair at a time."""
    z = F.normalize(z.double(), dim=1)
    pos, neg = [], []
    for i in range(len(z)):
        for j in range(len(z)):
            if i == j:
                continue
            s = float(z[i] @ z[j])
            if y[i] == y[j] and s <= m_pos:
                pos.append(m_pos - s)
            if y[i] != y[j] and s >= m_neg:
                neg.append(s - m_neg)
    mean = lambda v: sum(v) / len(v) if v else 0.0  # noqa: E731
    return l_pos * mean(pos) + l_neg * mean(neg)


@pytest.mark.parametrize("n, d, classes, seed", [(6, 3, 2, 0), (20, 8, 4, 1), (33, 5, 7, 2)])
def test_equals_pytorch_metric_learning(n, d, classes, seed):
    """Catches: unordered vs ordered pair counts, a mean over all pairs instead of the hard ones,
    the self-pair counted as a positive, dot product instead of cosine."""
    from pytorch_metric_learning.losses import ThresholdConsistentMarginLoss

    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    a, b = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    ours = TCM()(a, y)
    theirs = ThresholdConsistentMarginLoss()(b, y)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-5)
    assert abs(ours.item() - tcm_loop(z, y)) < 1e-5


def test_equals_pml_with_other_margins_and_weights():
    from pytorch_metric_learning.losses import ThresholdConsistentMarginLoss

    g = torch.Generator().manual_seed(3)
    z, y = torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)
    kw = {"margin_plus": 0.3, "margin_minus": 0.1, "lambda_plus": 0.5, "lambda_minus": 2.0}
    ours = TCM(margin_positive=0.3, margin_negative=0.1, lambda_positive=0.5, lambda_negative=2.0)
    torch.testing.assert_close(ours(z, y), ThresholdConsistentMarginLoss(**kw)(z, y))
    assert abs(float(ours(z, y)) - tcm_loop(z, y, 0.3, 0.1, 0.5, 2.0)) < 1e-5


def test_hand_computed_case():
    """PML's own worked example: positive part (0.9 - cos 45deg) / 1, negative part
    ((cos 45deg - 0.5) + (0.9429 - 0.5)) / 2."""
    z = torch.tensor([[0.0, 1.0], [0.43, 0.90], [1.0, 0.0], [0.5, 0.5]])
    y = torch.tensor([0, 0, 1, 1])
    cos = float(F.normalize(z, dim=1)[1] @ F.normalize(z, dim=1)[3])
    expected = (0.9 - 2**-0.5) + ((2**-0.5 - 0.5) + (cos - 0.5)) / 2
    assert abs(float(TCM()(z, y)) - expected) < 1e-6


def test_no_hard_pair_gives_zero_and_still_a_graph():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.01], [-1.0, 0.0], [-1.0, 0.01]], requires_grad=True)
    y = torch.tensor([0, 0, 1, 1])
    loss = TCM()(z, y)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(z.grad, torch.zeros_like(z))


def test_blocks_equal_one_block():
    g = torch.Generator().manual_seed(4)
    z, y = torch.randn(13, 5, generator=g), torch.randint(0, 3, (13,), generator=g)
    grads = []
    for block in (None, 1, 4):
        a = z.clone().requires_grad_(True)
        TCM(margin_positive=0.5, margin_negative=0.0, block_size=block)(a, y).backward()
        grads.append(a.grad)
    for g_ in grads[1:]:
        torch.testing.assert_close(g_, grads[0])


def _gather_worker(rank, world, z, y, sizes):
    start = sum(sizes[:rank])
    a = z[start : start + sizes[rank]].clone().requires_grad_(True)
    loss = TCM(margin_positive=0.5, margin_negative=0.0, gather=True)(a, y[start : start + sizes[rank]])
    loss.backward()
    return {"loss": loss.detach(), "grad": a.grad}


@pytest.mark.distributed
def test_gather_equals_single_process_uneven():
    """Both means count hard pairs over the global batch: a per-rank mean (then averaged)
    would give another value whenever the ranks hold different numbers of hard pairs."""
    sizes = [3, 6]
    g = torch.Generator().manual_seed(5)
    z, y = torch.randn(9, 4, generator=g), torch.randint(0, 3, (9,), generator=g)
    single = z.clone().requires_grad_(True)
    loss = TCM(margin_positive=0.5, margin_negative=0.0)(single, y)
    loss.backward()
    for rank, r in enumerate(run_distributed(_gather_worker, 2, z, y, sizes)):
        start = sum(sizes[:rank])
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(r["grad"], single.grad[start : start + sizes[rank]],
                                   atol=1e-6, rtol=1e-5)
