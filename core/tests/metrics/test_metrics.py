"""alignment, uniformity, tolerance and OPIS on cases whose value is known in closed form, and
OPIS against a pair-by-pair loop."""

from __future__ import annotations

import math

import pytest
import torch

from concord.metrics import alignment, far_thresholds, opis, tolerance, uniformity


def _circle(*angles_deg: float) -> torch.Tensor:
    a = torch.tensor(angles_deg, dtype=torch.float64) * math.pi / 180
    return torch.stack([a.cos(), a.sin()], dim=1)


def test_alignment_closed_form():
    """Orthogonal unit pairs are sqrt(2) apart; identical pairs 0: mean of 2 and 0 with alpha 2,
    of sqrt(2) and 0 with alpha 1. Catches: a sum instead of the mean, squared norm for alpha 1,
    no normalisation (the rows are scaled by 3)."""
    x = 3 * torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    assert alignment(x, y).item() == pytest.approx(1.0)
    assert alignment(x, y, alpha=1).item() == pytest.approx(math.sqrt(2) / 2)
    assert alignment(x, y, normalize=False).item() == pytest.approx((9 + 1 + 4) / 2)


def test_uniformity_regular_tetrahedron():
    """The 4 vertices of a regular tetrahedron are at squared distance 8/3 from each other:
    log E exp(-2 * 8/3) = -16/3. Catches: self pairs in the mean (they would add exp(0) = 1
    terms), the distance instead of its square, a mean of exponents instead of the log-mean-exp."""
    v = torch.tensor([[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    assert uniformity(v).item() == pytest.approx(-16 / 3, abs=1e-5)
    assert uniformity(v, t=0.5).item() == pytest.approx(-4 / 3, abs=1e-5)


def test_uniformity_two_clusters_log_mean_exp():
    """Two points at one place, one antipodal: pairs at squared distances 0, 4, 4."""
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    expected = math.log((1 + 2 * math.exp(-8)) / 3)
    assert uniformity(x).item() == pytest.approx(expected, abs=1e-6)


def test_tolerance_closed_form():
    """Class 0: two identical samples (similarity 1); class 1: two orthogonal ones (0)."""
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 0, 1, 1])
    assert tolerance(x, y).item() == pytest.approx(0.5)
    assert tolerance(x, y, include_self=True).item() == pytest.approx((2 + 0 + 4) / 8)


def test_opis_constant_utilities_closed_form():
    """Class 0 is perfectly separated over the whole range (U = 1); class 1's positive pair has
    similarity 0.2, below every threshold (TPR 0, TNR 1: U = 0). Pooled: TPR 1/2, TNR 1, so
    U-bar = 2/3 and OPIS = ((1 - 2/3)^2 + (0 - 2/3)^2) / 2 = 5/18. Catches: U-bar as the mean of
    the class utilities (gives 1/4), accepting pairs below the threshold, self pairs as
    positives (class 1 would get TPR 1/2)."""
    theta = math.degrees(math.acos(0.2))
    z = _circle(0, 0, 180, 180 + theta)
    y = torch.tensor([0, 0, 1, 1])
    t = torch.linspace(0.5, 0.8, 7)
    assert opis(z, y, t).item() == pytest.approx(5 / 18, abs=1e-6)
    # a class weight of 0 on class 1 leaves class 0 alone: (1 - 2/3)^2
    assert opis(z, y, t, class_weights=torch.tensor([1.0, 0.0])).item() == pytest.approx(1 / 9, abs=1e-6)


def test_opis_symmetric_classes_is_zero():
    """Two classes that are mirror images of each other behave identically at every threshold."""
    z = _circle(0, 30, 180, 210)
    y = torch.tensor([0, 0, 1, 1])
    assert opis(z, y, torch.linspace(-0.5, 0.99, 50)).item() == pytest.approx(0.0, abs=1e-12)


def opis_loop(z, y, t):
    """Per class and threshold, count the pairs one at a time; trapezoidal rule by hand."""
    z = torch.nn.functional.normalize(z.double(), dim=1)
    n = len(z)
    classes = sorted(set(y.tolist()))

    def util(tp, tn):
        return 0.0 if tp + tn == 0 else 2 * tp * tn / (tp + tn)

    curves, pooled = {c: [] for c in classes}, []
    for d in t.tolist():
        tot = [0, 0, 0, 0]  # accepted positives, positives, accepted negatives, negatives
        for c in classes:
            pa = p = na = ng = 0
            for i in range(n):
                if int(y[i]) != c:
                    continue
                for j in range(n):
                    if i == j:
                        continue
                    s = float(z[i] @ z[j])
                    if int(y[j]) == c:
                        p += 1
                        pa += s >= d
                    else:
                        ng += 1
                        na += s >= d
            curves[c].append(util(pa / p, 1 - na / ng))
            for k, v in enumerate((pa, p, na, ng)):
                tot[k] += v
        pooled.append(util(tot[0] / tot[1], 1 - tot[2] / tot[3]))
    ts = t.tolist()
    total = 0.0
    for c in classes:
        sq = [(u - ub) ** 2 for u, ub in zip(curves[c], pooled)]
        total += sum((ts[k + 1] - ts[k]) * (sq[k] + sq[k + 1]) / 2 for k in range(len(ts) - 1))
    return total / (len(classes) * (ts[-1] - ts[0]))


def test_opis_equals_pair_loop_on_random_embeddings():
    g = torch.Generator().manual_seed(0)
    z, y = torch.randn(14, 3, generator=g), torch.tensor([0] * 5 + [1] * 4 + [2] * 5)
    t = torch.linspace(-0.3, 0.9, 13)
    assert opis(z, y, t, block_size=4).item() == pytest.approx(opis_loop(z, y, t), abs=1e-6)


def test_far_thresholds_bracket_the_false_accept_rates():
    g = torch.Generator().manual_seed(1)
    z, y = torch.randn(60, 4, generator=g), torch.randint(0, 6, (60,), generator=g)
    t = far_thresholds(z, y, far_min=0.05, far_max=0.3, steps=5)
    zn = torch.nn.functional.normalize(z.double(), dim=1)
    neg = (zn @ zn.T)[y[:, None] != y[None, :]]
    far = lambda d: (neg >= d).double().mean().item()  # noqa: E731
    assert len(t) == 5 and bool((t[1:] > t[:-1]).all())
    assert far(t[0]) == pytest.approx(0.3, abs=0.01)
    assert far(t[-1]) == pytest.approx(0.05, abs=0.01)


@pytest.mark.parametrize("call, match", [
    (lambda: opis(torch.randn(4, 2), torch.tensor([0, 0, 1, 1]), torch.tensor([0.5])), "at least 2"),
    (lambda: opis(torch.randn(4, 2), torch.tensor([0, 0, 1, 1]), torch.tensor([0.5, 0.1])), "increasing"),
    (lambda: opis(torch.randn(4, 2), torch.tensor([0, 1, 2, 3]), torch.tensor([0.1, 0.5])), "no class"),
    (lambda: tolerance(torch.randn(3, 2), torch.tensor([0, 1, 2])), "no two samples"),
    (lambda: uniformity(torch.randn(1, 2)), "at least 2"),
    (lambda: alignment(torch.randn(3, 2), torch.randn(2, 2)), "shapes differ"),
    (lambda: far_thresholds(torch.randn(4, 2), torch.tensor([0, 0, 1, 1]), far_min=0.5, far_max=0.1), "far_min < far_max"),
])
def test_bad_inputs_raise_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
