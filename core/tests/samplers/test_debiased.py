"""The debiased (DebCSE) sampler a second way: selection probabilities written out as loops over
the candidates, token surface similarity from Python sets, and the drawing frequencies against
the closed form with a chi-square bound that the un-debiased weighting fails."""

from __future__ import annotations

import math

import pytest
import torch

from concord.errors import InputError
from concord.samplers.debiased import DebiasedSampler, token_surface_similarity


def _loop_probabilities(sem, surf, cand, tau_s, tau_r, floor):
    """pi+_ij = (p_ij / max(e_ij, floor / |C_i|)) / sum over C_i, p and e softmaxes over C_i."""
    n, m = sem.shape
    out = []
    for sign in (1.0, -1.0):
        pi = torch.zeros(n, m, dtype=torch.float64)
        for i in range(n):
            c = [j for j in range(m) if cand[i, j]]
            zp = sum(math.exp(sign * float(sem[i, j]) / tau_s) for j in c)
            ze = sum(math.exp(sign * float(surf[i, j]) / tau_r) for j in c)
            raw = {}
            for j in c:
                p = math.exp(sign * float(sem[i, j]) / tau_s) / zp
                e = math.exp(sign * float(surf[i, j]) / tau_r) / ze
                raw[j] = p / max(e, floor / len(c))
            total = sum(raw.values())
            for j in c:
                pi[i, j] = raw[j] / total
        out.append(pi)
    return out


@pytest.mark.parametrize("floor", [0.0, 0.05, 0.5])
def test_selection_probabilities_equal_the_loop(floor):
    g = torch.Generator().manual_seed(0)
    sem = torch.rand(4, 6, generator=g, dtype=torch.float64) * 2 - 1
    surf = torch.rand(4, 6, generator=g, dtype=torch.float64)
    cand = torch.rand(4, 6, generator=g) > 0.3
    s = DebiasedSampler(propensity_floor=floor, semantic_temperature=0.2, surface_temperature=0.15)
    pos, neg = s.selection_probabilities(sem, surf, cand)
    exp_pos, exp_neg = _loop_probabilities(sem, surf, cand, 0.2, 0.15, floor)
    torch.testing.assert_close(pos, exp_pos, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(neg, exp_neg, atol=1e-12, rtol=1e-10)


def test_token_surface_similarity_equals_python_sets():
    g = torch.Generator().manual_seed(1)
    q = torch.randint(1, 6, (5, 6), generator=g)
    k = torch.randint(1, 6, (4, 6), generator=g)
    q[1, 2:] = 0
    k[2, :] = 0  # an empty sentence
    got = token_surface_similarity(q, k)
    got_len = token_surface_similarity(q, k, measure="length")
    for i in range(5):
        a = [t for t in q[i].tolist() if t != 0]
        for j in range(4):
            b = [t for t in k[j].tolist() if t != 0]
            sa, sb = set(a), set(b)
            jac = len(sa & sb) / len(sa | sb) if sa | sb else 1.0
            ln = min(len(a), len(b)) / max(len(a), len(b)) if max(len(a), len(b)) else 1.0
            assert math.isclose(float(got[i, j]), jac), (i, j)
            assert math.isclose(float(got_len[i, j]), ln), (i, j)


def _one_query_case(rows: int):
    """One query, five candidate keys, repeated ``rows`` times (independent draws per row)."""
    key = torch.nn.functional.normalize(torch.tensor(
        [[1.0, 0.2, 0], [0.9, -0.3, 0.1], [0.2, 1.0, 0], [-0.5, 0.4, 0.6], [0.1, -0.2, -1.0]]), dim=1)
    query = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1, 0.1]]), dim=1).expand(rows, 3)
    surface = torch.tensor([[0.9, 0.1, 0.6, 0.2, 0.8]]).expand(rows, 5)
    return dict(query=query, key=key, surface=surface, key_ids=torch.arange(5) + rows)


def _chi2(counts, probs, total):
    expected = probs * total
    return float(((counts - expected) ** 2 / expected).sum())


@pytest.mark.parametrize("side", ["positive", "negative"])
def test_draw_frequencies_follow_the_ipw_probabilities(side):
    rows = 5000
    kw = _one_query_case(rows)
    init = {"num_positives": 1, "num_negatives": 0} if side == "positive" else {"num_positives": 0, "num_negatives": 1}
    s = DebiasedSampler(keep_views=False, semantic_temperature=0.5, surface_temperature=0.5, **init)
    t = s.bind(**kw, generator=torch.Generator().manual_seed(0)).dense()
    mask = t.positive if side == "positive" else t.negative
    assert bool((mask.sum(1) == 1).all())
    counts = mask.sum(0).double()
    sem = kw["query"][:1].double() @ kw["key"].double().T
    cand = torch.ones(1, 5, dtype=torch.bool)
    pi = _loop_probabilities(sem, kw["surface"][:1].double(), cand, 0.5, 0.5, 0.05)[0 if side == "positive" else 1][0]
    assert float((pi * rows).min()) > 5  # the chi-square approximation holds
    bound = 18.47  # chi-square, 4 degrees of freedom, 99.9 %
    assert _chi2(counts, pi, rows) < bound
    # the weighting without the inverse propensity (semantic softmax alone) is rejected
    naive = torch.softmax((1.0 if side == "positive" else -1.0) * sem[0] / 0.5, 0)
    assert _chi2(counts, naive, rows) > 5 * bound
    # and so is the propensity multiplied instead of divided
    e = torch.softmax((1.0 if side == "positive" else -1.0) * kw["surface"][0].double() / 0.5, 0)
    assert _chi2(counts, naive * e / (naive * e).sum(), rows) > 5 * bound


def test_two_draws_without_replacement_follow_successive_sampling():
    rows = 5000
    kw = _one_query_case(rows)
    t = DebiasedSampler(keep_views=False, num_positives=2, num_negatives=0, semantic_temperature=0.5,
                        surface_temperature=0.5).bind(
        **kw, generator=torch.Generator().manual_seed(1)).dense()
    sem = kw["query"][:1].double() @ kw["key"].double().T
    pi = _loop_probabilities(sem, kw["surface"][:1].double(), torch.ones(1, 5, dtype=torch.bool), 0.5, 0.5, 0.05)[0][0]
    # P(j in a 2-draw) = pi_j + sum_{l != j} pi_l pi_j / (1 - pi_l)
    incl = torch.tensor([float(pi[j]) + sum(float(pi[l] * pi[j] / (1 - pi[l])) for l in range(5) if l != j)
                         for j in range(5)], dtype=torch.float64)
    freq = t.positive.sum(0).double() / rows
    sd = (incl * (1 - incl) / rows).sqrt()
    assert bool(((freq - incl).abs() < 4 * sd + 1e-9).all()), (freq, incl)


def test_views_stay_positive_and_masks_are_disjoint():
    z = torch.nn.functional.normalize(torch.randn(8, 4, generator=torch.Generator().manual_seed(2)), dim=1)
    ids = torch.arange(4).repeat(2)
    surface = torch.rand(8, 8, generator=torch.Generator().manual_seed(3))
    t = DebiasedSampler(num_positives=1, num_negatives=2).bind(
        z, z, surface=surface, query_ids=ids, key_ids=ids, self_index=torch.arange(8),
        generator=torch.Generator().manual_seed(0)).dense()
    own = (ids[:, None] == ids[None, :]) & ~torch.eye(8, dtype=torch.bool)
    assert bool(t.positive[own].all()) and not bool(t.positive.diagonal().any())
    assert bool((t.positive.sum(1) == 2).all()) and bool((t.negative.sum(1) == 2).all())
    assert not bool((t.positive & t.negative).any()) and not bool(t.negative[own].any())


def test_same_generator_same_pairs():
    kw = _one_query_case(6)
    a = DebiasedSampler().bind(**kw, generator=torch.Generator().manual_seed(4)).dense()
    b = DebiasedSampler().bind(**kw, generator=torch.Generator().manual_seed(4)).dense()
    assert torch.equal(a.positive, b.positive) and torch.equal(a.negative, b.negative)


def test_surface_is_required_and_not_ambiguous():
    z = torch.randn(3, 2)
    with pytest.raises(InputError, match="needs surface similarity"):
        DebiasedSampler().bind(z, z)
    with pytest.raises(InputError, match="not both"):
        DebiasedSampler().bind(z, z, surface=torch.rand(3, 3), query_tokens=torch.ones(3, 2, dtype=torch.long),
                               key_tokens=torch.ones(3, 2, dtype=torch.long))
