"""Fréchet distance against closed forms and scipy; precision / recall on hand-made point sets;
the feature classifier and its cache; PNG grids."""

from __future__ import annotations

import math

import pytest
import torch

from concord_diffusion.evaluate import (
    cached_feature_net,
    feature_statistics,
    frechet_distance,
    frechet_distance_of_features,
    precision_recall,
    save_grid,
)
from concord_diffusion.evaluate.precision_recall import knn_radii


def _random_spd(d, g):
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)


def test_fd_closed_form_for_diagonal_gaussians():
    """Commuting covariances: ||mu1 - mu2||^2 + sum (sqrt(a_i) - sqrt(b_i))^2."""
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    assert math.isclose(frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)), expected, rel_tol=1e-12)


def test_fd_equals_scipy_sqrtm_for_non_commuting_covariances():
    """The textbook formula with scipy.linalg.sqrtm (pytorch-fid's way) as the peer. Catches
    tr(sqrt(S1) sqrt(S2)) in place of tr(sqrt(S1 S2))."""
    import numpy as np
    from scipy import linalg

    g = torch.Generator().manual_seed(0)
    s1, s2 = _random_spd(6, g), _random_spd(6, g)
    mu1, mu2 = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    covmean = linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected = float(((mu1 - mu2) ** 2).sum()) + np.trace(s1.numpy()) + np.trace(s2.numpy()) - 2 * np.trace(covmean)
    assert math.isclose(frechet_distance(mu1, s1, mu2, s2), expected, rel_tol=1e-9)
    r1 = torch.linalg.cholesky(s1)  # any square root differs from sqrt(S1 S2) unless they commute
    wrong = float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * torch.trace(r1 @ torch.linalg.cholesky(s2)))
    assert not math.isclose(wrong, expected, rel_tol=1e-3)


def test_fd_of_samples_approaches_the_closed_form():
    """Features drawn from N(0, 1) and N(0.5, 2^2) in 1-D: d^2 = 0.25 + (1 - 2)^2 = 1.25."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    b = 0.5 + 2 * torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    assert abs(frechet_distance_of_features(a, b) - 1.25) < 0.03
    assert frechet_distance_of_features(a, a) == pytest.approx(0.0, abs=1e-9)


def test_statistics_are_unbiased():
    x = torch.tensor([[0.0], [2.0]])
    mu, cov = feature_statistics(x)
    assert float(mu) == 1.0 and float(cov) == 2.0  # divided by N - 1


def test_precision_recall_on_hand_made_points():
    """Real {0, 1, 2, 3, 10}, fake {0.5, 5, 17, 20}, k = 1, worked by hand:
    real radii 1, 1, 1, 1, 7 -> 0.5 (in 0's ball), 5 (in 10's), 17 (on 10's boundary: counts),
    20 (out): precision 3/4. Fake radii 4.5, 4.5, 3, 3 -> real 0, 1, 2, 3 inside, 10 out
    (5 away from 5, 7 from 17): recall 4/5. Catches self-neighbours, '<' for '<=', swapped roles."""
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [10.0]])
    fake = torch.tensor([[0.5], [5.0], [17.0], [20.0]])
    torch.testing.assert_close(knn_radii(real, 1), torch.tensor([1.0, 1, 1, 1, 7], dtype=torch.float64))
    p, r = precision_recall(real, fake, k=1)
    assert (p, r) == (0.75, 0.8)


def test_precision_recall_k3_two_dimensional():
    """A 3x3 grid of real points; fakes at the grid (inside), and one far away (outside)."""
    real = torch.tensor([[i, j] for i in range(3) for j in range(3)], dtype=torch.float32)
    fake = torch.cat([real[:4] + 0.1, torch.tensor([[10.0, 10.0]])])
    p, _ = precision_recall(real, fake, k=3)
    assert p == 0.8


def test_bad_features():
    with pytest.raises(ValueError, match="dimensions differ"):
        precision_recall(torch.zeros(5, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="more than k"):
        knn_radii(torch.zeros(3, 2), 3)
    with pytest.raises(ValueError, match="NaN"):
        feature_statistics(torch.tensor([[float("nan")], [0.0]]))


def test_feature_classifier_learns_digits_and_is_cached(tmp_path, digits, monkeypatch):
    """Its features separate classes (held-out accuracy far above chance 0.1); the second call
    loads the cache instead of training (the trainer is made to fail to prove it)."""
    x, y = digits(size=8)
    net = cached_feature_net(x, y, tmp_path, epochs=4, width=8, batch_size=64)
    assert not net.cached and net.accuracy > 0.8
    assert net(x[:5].float() / 127.5 - 1).shape == (5, 32)
    import concord_diffusion.evaluate.feature_net as fn

    monkeypatch.setattr(fn, "_train", lambda *a, **k: (_ for _ in ()).throw(AssertionError("retrained")))
    again = cached_feature_net(x, y, tmp_path, epochs=4, width=8, batch_size=64)
    assert again.cached and again.accuracy == net.accuracy
    for a, b in zip(net.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(AssertionError, match="retrained"):  # other data: a new key
        cached_feature_net(x[:500], y[:500], tmp_path, epochs=4, width=8, batch_size=64)


def test_grid_png(tmp_path):
    from PIL import Image

    imgs = torch.linspace(-1, 1, 5 * 4 * 4).reshape(5, 1, 4, 4)
    path = save_grid(imgs, tmp_path / "g.png", nrow=3, padding=1)
    im = Image.open(path)
    assert im.size == (3 * 5 + 1, 2 * 5 + 1) and im.mode == "L"
    assert im.getpixel((1, 1)) == 0 and im.getpixel((1 + 5 + 3, 1 + 5 + 3)) == 255  # last pixel of image 4 (row 1, col 1)
