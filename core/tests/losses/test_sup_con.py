"""SupCon against Khosla et al. Eq. 2 written out and against pytorch-metric-learning."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from concord.losses import SupCon


def supcon_loop(features, labels, tau, anchors_views=None):
    """Eq. 2: sum over anchors i of -1/|P(i)| sum_p log(exp(z_i z_p / tau) / sum_{a != i} ...)."""
    n, v, _ = features.shape
    z = F.normalize(features, dim=-1)
    items = [(s, view) for view in range(v) for s in range(n)]
    anchor_views = range(v) if anchors_views is None else range(anchors_views)
    total, count = 0.0, 0
    for s, view in items:
        if view not in anchor_views:
            continue
        zi = z[s, view]
        others = [(t, w) for (t, w) in items if (t, w) != (s, view)]
        den = sum(math.exp(float(zi @ z[t, w]) / tau) for t, w in others)
        pos = [(t, w) for t, w in others if (labels[t] == labels[s] if labels is not None else t == s)]
        total += -sum(math.log(math.exp(float(zi @ z[t, w]) / tau) / den) for t, w in pos) / len(pos)
        count += 1
    return total / count


def _features(seed=0, n=8, v=2, d=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, v, d, generator=g)


def test_matches_eq2_with_labels():
    f = _features()
    y = torch.tensor([0, 1, 1, 0, 2, 2, 0, 1])
    assert math.isclose(float(SupCon(temperature=0.1)(f, y)), supcon_loop(f, y, 0.1), rel_tol=1e-5)


def test_without_labels_is_simclr():
    f = _features(1)
    assert math.isclose(float(SupCon(temperature=0.5)(f)), supcon_loop(f, None, 0.5), rel_tol=1e-5)
    from concord.losses import NTXent

    torch.testing.assert_close(SupCon(temperature=0.5)(f), NTXent(temperature=0.5)(f[:, 0], f[:, 1]))


def test_three_views_and_one_mode():
    f = _features(2, v=3)
    y = torch.tensor([0, 1, 1, 0, 2, 2, 0, 1])
    assert math.isclose(float(SupCon(temperature=0.2)(f, y)), supcon_loop(f, y, 0.2), rel_tol=1e-5)
    got = SupCon(temperature=0.2, contrast_mode="one")(f, y)
    assert math.isclose(float(got), supcon_loop(f, y, 0.2, anchors_views=1), rel_tol=1e-5)


def test_matches_pytorch_metric_learning_supcon():
    from pytorch_metric_learning.losses import SupConLoss

    f = _features(3, n=10)
    y = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    flat = torch.cat([f[:, 0], f[:, 1]])
    expected = SupConLoss(temperature=0.1)(flat, torch.cat([y, y]))
    torch.testing.assert_close(SupCon(temperature=0.1)(f, y), expected, atol=1e-5, rtol=1e-5)


def test_base_temperature_factor():
    f = _features(4)
    y = torch.tensor([0, 1, 1, 0, 2, 2, 0, 1])
    torch.testing.assert_close(
        SupCon(temperature=0.1, base_temperature=0.07)(f, y), SupCon(temperature=0.1)(f, y) * (0.1 / 0.07)
    )


def test_singleton_class_errors_unless_ignored():
    f = _features(5, v=1)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 4])  # classes 3 and 4 have one view each
    with pytest.raises(ValueError, match="2 queries have no positive key"):
        SupCon()(f, y)
    got = SupCon(empty_positives="ignore", temperature=0.3)(f, y)
    z = F.normalize(f[:, 0], dim=1)
    total = 0.0
    for i in range(6):
        den = sum(math.exp(float(z[i] @ z[a]) / 0.3) for a in range(8) if a != i)
        pos = [p for p in range(8) if p != i and y[p] == y[i]]
        total += -sum(math.log(math.exp(float(z[i] @ z[p]) / 0.3) / den) for p in pos) / len(pos)
    assert math.isclose(float(got), total / 6, rel_tol=1e-5)


def test_continuous_labels_through_label_distance_sampler():
    f = _features(6, n=6, v=1)
    y = torch.tensor([0.0, 0.05, 1.0, 1.02, 3.0, 3.01])
    got = SupCon(temperature=0.5, sampler={"name": "label_distance", "window": 0.1})(f, y)
    discrete = SupCon(temperature=0.5)(f, torch.tensor([0, 0, 1, 1, 2, 2]))
    torch.testing.assert_close(got, discrete)


def test_bad_inputs():
    f = _features(7)
    with pytest.raises(ValueError, match="labels has 3 entries but the batch has 8 rows"):
        SupCon()(f, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="at least 2 views"):
        SupCon()(f[:, :1])
    with pytest.raises(ValueError, match="needs labels"):
        SupCon(sampler="labels")(f)
