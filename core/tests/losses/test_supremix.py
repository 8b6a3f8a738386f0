"""SupReMix against the authors' construction written out as plain loops over (anchor, j, k) with
explicit mixture vectors; the Beta draws against the Beta CDF; gather=True against one process."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from concord.losses.supremix import SupReMix
from concord.testing import run_distributed


def _case(seed: int = 0, n: int = 5, v: int = 2, d: int = 3):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(n, v, d, generator=g, dtype=torch.float64)
    y = torch.tensor([20.0, 22.0, 23.0, 25.0, 22.0, 30.0, 27.0, 21.0, 24.0][:n], dtype=torch.float64)
    return f, y


def _w(kind: str, d: float) -> float:
    return {"l1_inv": d + 1, "l2_inv": d * d + 1, "l1": 1 / (d + 1), "l2": 1 / (d * d + 1), "none": 1.0}[kind]


def _brute(f, y, lam, *, tau=0.3, window=5.0, neg=True, pos=True, weight="l1_inv", norm_mix=False,
           detach=True):
    """The mixing function and loss of the authors' training code, one (i, j, k) at a time:
    negatives lam z_i + (1 - lam) z_k (y_k != y_i), positives alpha z_j + (1 - alpha) z_k
    (y_j < y_i < y_k within the window, alpha = (y_k - y_i) / (y_k - y_j)), detached; SupCon
    over real keys and mixtures, every denominator term weighted by w(|y_i - y_a|)."""
    n, v, _ = f.shape
    z = F.normalize(f, dim=-1).transpose(0, 1).reshape(v * n, -1)  # view-major
    zm = z.detach() if detach else z
    t = y.repeat(v)
    m = v * n
    total = 0.0
    for i in range(m):
        entries = []  # (logit, weight, is_positive)
        for a in range(m):
            if a != i:
                entries.append((z[i] @ z[a] / tau, _w(weight, abs(float(t[i] - t[a]))), bool(t[a] == t[i])))
        if neg:
            for k in range(m):
                if k != i and t[k] != t[i]:
                    lm = float(lam[i, k])
                    mix = lm * zm[i] + (1 - lm) * zm[k]
                    if norm_mix:
                        mix = mix / mix.norm()
                    label = lm * t[i] + (1 - lm) * t[k]
                    entries.append((z[i] @ mix / tau, _w(weight, abs(float(t[i] - label))), False))
        if pos:
            for j in range(m):
                for k in range(m):
                    inside = t[j] < t[i] < t[k]
                    if window is not None:
                        inside = inside and (t[i] - t[j] < window) and (t[k] - t[i] < window)
                    if inside:
                        alpha = float((t[k] - t[i]) / (t[k] - t[j]))
                        mix = alpha * zm[j] + (1 - alpha) * zm[k]
                        if norm_mix:
                            mix = mix / mix.norm()
                        assert math.isclose(float(alpha * t[j] + (1 - alpha) * t[k]), float(t[i]))
                        entries.append((z[i] @ mix / tau, 1.0, True))
        denominator = sum(w * torch.exp(lg) for lg, w, _ in entries)
        positives = [lg for lg, _, p in entries if p]
        total = total - sum(lg - torch.log(denominator) for lg in positives) / len(positives)
    return total / m


CONFIGS = [
    ({}, {}),
    ({"window": None, "beta": (5, 5), "negative_weight": "l2"}, {"window": None, "weight": "l2"}),
    ({"normalize_mixtures": True, "negative_weight": "l2_inv", "temperature": 0.5},
     {"norm_mix": True, "weight": "l2_inv", "tau": 0.5}),
    ({"hard_positives": False, "negative_weight": "none", "window": 2.5}, {"pos": False, "weight": "none", "window": 2.5}),
    ({"hard_negatives": False, "block_size": 2, "negative_weight": "l1"}, {"neg": False, "weight": "l1"}),
    # one anchor per block: each block sees only the band of keys within 2.5 of its label
    ({"block_size": 1, "window": 2.5, "normalize_mixtures": True}, {"window": 2.5, "norm_mix": True}),
]


@pytest.mark.parametrize("init, brute", CONFIGS)
def test_equals_the_authors_construction_as_loops(init, brute):
    f, y = _case()
    loss_fn = SupReMix(**init)
    brute.setdefault("tau", loss_fn.temperature)
    brute.setdefault("window", loss_fn.window)
    m = 2 * len(y)
    lam = loss_fn.mixing_coefficients(m, m, torch.Generator().manual_seed(7)).double()
    a = f.clone().requires_grad_(True)
    loss = loss_fn(a, y, generator=torch.Generator().manual_seed(7))
    loss.backward()
    b = f.clone().requires_grad_(True)
    expected = _brute(b, y, lam, **brute)
    expected.backward()
    torch.testing.assert_close(loss, expected, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(a.grad, b.grad, atol=1e-10, rtol=1e-9)


def test_the_loop_tells_detached_mixtures_apart():
    """The comparison above can fail: mixtures that carry gradient (a tempting reading of the
    paper) give the same value but a different gradient, which the loss must not match."""
    f, y = _case()
    m = 2 * len(y)
    lam = SupReMix().mixing_coefficients(m, m, torch.Generator().manual_seed(3)).double()
    a = f.clone().requires_grad_(True)
    SupReMix()(a, y, generator=torch.Generator().manual_seed(3)).backward()
    b = f.clone().requires_grad_(True)
    _brute(b, y, lam, detach=False).backward()
    assert (a.grad - b.grad).abs().max() > 1e-3


def test_hard_pairs_change_the_loss_relative_to_plain_weighted_supcon():
    f, y = _case(1)
    g = torch.Generator().manual_seed(0)
    plain = SupReMix(hard_negatives=False, hard_positives=False)(f, y)
    both = SupReMix()(f, y, generator=g)
    assert not torch.isclose(plain, both)


def _beta_cdf(x: float, a: int, b: int) -> float:
    # I_x(a, b) for integers = P(Binomial(a + b - 1, x) >= a)
    n = a + b - 1
    return sum(math.comb(n, k) * x**k * (1 - x) ** (n - k) for k in range(a, n + 1))


@pytest.mark.parametrize("beta", [(2, 8), (8, 2), (5, 5)])
def test_mixing_coefficients_follow_the_beta_distribution(beta):
    lam = SupReMix(beta=beta).mixing_coefficients(200, 200, torch.Generator().manual_seed(0)).flatten()
    xs = torch.sort(lam.double()).values
    n = len(xs)
    cdf = torch.tensor([_beta_cdf(float(x), *beta) for x in xs[:: 97]])
    emp = (torch.arange(n, dtype=torch.float64)[:: 97] + 1) / n
    ks = float((cdf - emp).abs().max())
    # KS 99.9% bound for n = 40,000 is 1.95 / sqrt(n) ~ 0.0098; Beta(2, 8) vs Beta(5, 5) differ by > 0.4
    assert ks < 1.95 / math.sqrt(n)
    a, b = beta
    assert abs(float(lam.mean()) - a / (a + b)) < 0.005


def test_same_generator_same_value_and_seed_changes_it():
    f, y = _case()
    one = SupReMix()(f, y, generator=torch.Generator().manual_seed(5))
    two = SupReMix()(f, y, generator=torch.Generator().manual_seed(5))
    three = SupReMix()(f, y, generator=torch.Generator().manual_seed(6))
    assert torch.equal(one, two) and not torch.equal(one, three)


def _worker(rank, world, f, y, sizes):
    start = sum(sizes[:rank])
    rows = slice(start, start + sizes[rank])
    a = f[rows].clone().requires_grad_(True)
    loss = SupReMix(gather=True, block_size=3)(a, y[rows], generator=torch.Generator().manual_seed(11))
    loss.backward()
    return {"loss": loss.detach(), "grad": a.grad}


@pytest.mark.distributed
def test_gather_equals_single_process_uneven():
    f, y = _case(2, n=7)
    sizes = [3, 4]
    a = f.clone().requires_grad_(True)
    loss = SupReMix()(a, y, generator=torch.Generator().manual_seed(11))
    loss.backward()
    for rank, r in enumerate(run_distributed(_worker, 2, f, y, sizes)):
        start = sum(sizes[:rank])
        torch.testing.assert_close(r["loss"], loss.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(r["grad"], a.grad[start : start + sizes[rank]], atol=1e-10, rtol=1e-8)


def test_kept_rows_equal_the_rows_of_the_whole_draw():
    """gather=True asks for its anchors' rows only; the generator must advance as for the whole
    matrix (drawn in chunks) so every rank sees the rows the single process would."""
    f = SupReMix(beta=(5, 5))
    full = f.mixing_coefficients(5000, 80, torch.Generator().manual_seed(1))
    keep = torch.randperm(5000, generator=torch.Generator().manual_seed(2))[:300]
    part = f.mixing_coefficients(5000, 80, torch.Generator().manual_seed(1), keep=keep)
    assert torch.equal(full[keep], part)
