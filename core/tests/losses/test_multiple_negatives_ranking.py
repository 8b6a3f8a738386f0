"""Multiple negatives ranking against sentence-transformers' MultipleNegativesRankingLoss on the
same embeddings, and 2 processes against one."""

from __future__ import annotations

import pytest
import torch

from concord.losses.multiple_negatives_ranking import MultipleNegativesRanking
from concord.testing import run_distributed


def _embeddings(seed, n=7, h=2, d=5):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g)
    return a, a + 0.7 * torch.randn(n, d, generator=g), torch.randn(n, h, d, generator=g)


@pytest.mark.parametrize("h, scale", [(0, 20.0), (1, 20.0), (3, 7.5)])
def test_equals_sentence_transformers(h, scale):
    """Catches: hard negatives used only by their own anchor (ST shares every one with every
    anchor), a symmetric (doc-to-query) term ST does not add by default, dot product instead of
    cosine, the scale applied as a temperature."""
    st = pytest.importorskip("sentence_transformers.losses")
    a, p, n = _embeddings(h, h=max(h, 1))
    cols = [a, p] + [n[:, j] for j in range(h)]
    theirs_in = [c.clone().requires_grad_(True) for c in cols]
    theirs = st.MultipleNegativesRankingLoss(None, scale=scale).compute_loss_from_embeddings(theirs_in, None)
    ours_in = [c.clone().requires_grad_(True) for c in cols]
    neg = torch.stack(ours_in[2:], dim=1) if h else None
    ours = MultipleNegativesRanking(scale=scale)(ours_in[0], ours_in[1], neg)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)
    ours.backward()
    theirs.backward()
    for x, y in zip(ours_in, theirs_in):
        torch.testing.assert_close(x.grad, y.grad, atol=1e-6, rtol=1e-5)


def test_formula_by_hand():
    a, p, n = (t.double() for t in _embeddings(5, n=4, h=1))
    cos = lambda x, y: torch.nn.functional.cosine_similarity(x, y, dim=0)  # noqa: E731
    total = 0.0
    for i in range(4):
        cands = [p[j] for j in range(4)] + [n[j, 0] for j in range(4)]
        logits = torch.stack([20 * cos(a[i], c) for c in cands])
        total -= torch.log_softmax(logits, 0)[i].item()
    assert MultipleNegativesRanking()(a, p, n).item() == pytest.approx(total / 4, rel=1e-10)


def _worker(rank, world, a, p, n, sizes):
    start = sum(sizes[:rank])
    rows = slice(start, start + sizes[rank])
    leaves = [t[rows].clone().requires_grad_(True) for t in (a, p, n)]
    loss = MultipleNegativesRanking(gather=True)(*leaves)
    loss.backward()
    return {"loss": loss.detach(), "grads": [t.grad for t in leaves]}


@pytest.mark.distributed
def test_gather_equals_single_process_uneven():
    """Other ranks' positives and hard negatives are candidates with gradients."""
    a, p, n = (t.double() for t in _embeddings(6, n=7))
    sizes = [3, 4]
    leaves = [t.clone().requires_grad_(True) for t in (a, p, n)]
    loss = MultipleNegativesRanking()(*leaves)
    loss.backward()
    for rank, r in enumerate(run_distributed(_worker, 2, a, p, n, sizes)):
        rows = slice(sum(sizes[:rank]), sum(sizes[: rank + 1]))
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        for got, leaf in zip(r["grads"], leaves):
            torch.testing.assert_close(got, leaf.grad[rows], atol=1e-10, rtol=1e-8)
