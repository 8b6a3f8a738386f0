"""The objectives computed a second way: the official code's logits layout (positive column, then
the 2N-2 negatives, cross-entropy), brute-force loops for R and for same-target positives."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from concord_sequence.losses import CL4SRecLoss, DuoRecLoss, MarginRegularizer, MCLRecLoss


def _official_info_nce(zi, zj, temp=1.0, sim="dot"):
    """The DuoRec / MCLRec repositories' info_nce + CrossEntropyLoss, written out."""
    n = zi.shape[0]
    z = torch.cat([zi, zj])
    s = (F.normalize(z, dim=1) @ F.normalize(z, dim=1).T if sim == "cos" else z @ z.T) / temp
    total = 0.0
    for a in range(2 * n):
        pos = (a + n) % (2 * n)
        negs = [s[a, b] for b in range(2 * n) if b not in (a, pos)]
        logits = torch.stack([s[a, pos], *negs])
        total = total - torch.log_softmax(logits, 0)[0]
    return total / (2 * n)


def _z(seed, n=6, d=5):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g)
    return a, a + 0.4 * torch.randn(n, d, generator=g)


@pytest.mark.parametrize("sim, temp", [("dot", 1.0), ("cos", 0.3)])
def test_cl4srec_equals_official_formula(sim, temp):
    z1, z2 = _z(0)
    got = CL4SRecLoss(temperature=temp, similarity=sim)(z1, z2)
    torch.testing.assert_close(got, _official_info_nce(z1, z2, temp, sim))


def test_duorec_pair_equals_official_formula():
    h, hs = _z(1)
    torch.testing.assert_close(DuoRecLoss()(h, hs), _official_info_nce(h, hs))


def test_duorec_same_target_positives_brute_force():
    h, hs = _z(2)
    y = torch.tensor([4, 7, 4, 9, 7, 4])
    got = DuoRecLoss(positives="same_target")(h, hs, y)
    z = torch.cat([h, hs])
    lab = torch.cat([y, y])
    s = z @ z.T
    total = 0.0
    for a in range(12):
        others = [b for b in range(12) if b != a]
        pos = [b for b in others if lab[b] == lab[a]]
        lse = torch.logsumexp(torch.stack([s[a, b] for b in others]), 0)
        total = total + sum(lse - s[a, p] for p in pos) / len(pos)
    torch.testing.assert_close(got, total / 12)


def _official_margin(a, b, temp=1.0):
    """MCLRec's meta_contrast_rl, loop by loop."""
    n = a.shape[0]
    z = torch.cat([a, b])
    s = z @ z.T / temp
    first, second, count = 0.0, 0.0, 0
    for i in range(2 * n):
        pos = (i + n) % (2 * n)
        p = s[i, pos]
        negs = [s[i, j] for j in range(2 * n) if j not in (i, pos)]
        hardest = max(negs)
        low, high = min(p, hardest), max(p, hardest)
        first = first + max(p - low, 0.0)
        for v in negs:
            second = second + max(high - v, 0.0)
            count += 1
    return first / (2 * n) + second / count


def test_margin_regularizer_equals_official_loops():
    a, b = _z(3)
    torch.testing.assert_close(MarginRegularizer()(a, b), _official_margin(a, b))
    torch.testing.assert_close(MarginRegularizer(temperature=0.5)(a, b), _official_margin(a, b, 0.5))


def test_margin_regularizer_zero_when_negatives_all_as_close_as_positive():
    a = torch.ones(4, 3)
    assert float(MarginRegularizer()(a, a.clone())) == 0.0


def test_mclrec_terms_compose_as_the_official_code():
    h1, h2 = _z(4)
    g = torch.Generator().manual_seed(5)
    a1 = F.normalize(h1 + 0.1 * torch.randn(6, 5, generator=g), dim=1)
    a2 = F.normalize(h2 + 0.1 * torch.randn(6, 5, generator=g), dim=1)
    loss = MCLRecLoss(lmd=0.3, beta=0.2, reg_weight=0.1)
    cl = _official_info_nce(h1, h2)
    mcl = _official_info_nce(h1, a2) + _official_info_nce(h2, a1) + _official_info_nce(a1, a2)
    reg = _official_margin(h1, a2) + _official_margin(h2, a1) + _official_margin(a1, a2)
    torch.testing.assert_close(loss(h1, h2, a1, a2), 0.3 * cl + 0.2 * (mcl + 0.1 * reg))
    torch.testing.assert_close(loss.meta_objective(h1, h2, a1, a2), 0.3 * cl + (mcl + 0.1 * reg))
    off = MCLRecLoss(lmd=0.3, beta=0.2, reg_weight=0.0)
    torch.testing.assert_close(off(h1, h2, a1, a2), 0.3 * cl + 0.2 * mcl)
