"""DCL / DCLW against the decoupled formula written out as the official code computes it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.losses import DCL, DCLW


def dcl_direction(z1, z2, tau, weight=None):
    """One direction of the official computation: -<z1_i, z2_i>/tau (times weight) plus the
    log-sum-exp over [z1 z1^T, z1 z2^T] with both diagonals removed."""
    z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    cross = z1 @ z2.T
    pos = -torch.diag(cross) / tau
    if weight is not None:
        pos = pos * weight
    neg = torch.cat([z1 @ z1.T, cross], dim=1) / tau
    eye = torch.eye(z1.shape[0], dtype=torch.bool)
    neg = neg.masked_fill(torch.cat([eye, eye], dim=1), float("-inf"))
    return (pos + torch.logsumexp(neg, dim=1)).mean()


def _views(seed=0, n=10, d=4):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g)
    return z1, z1 + 0.5 * torch.randn(n, d, generator=g)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_dcl_matches_official_formula(tau):
    z1, z2 = _views()
    expected = (dcl_direction(z1, z2, tau) + dcl_direction(z2, z1, tau)) / 2
    torch.testing.assert_close(DCL(temperature=tau)(z1, z2), expected)


def test_dclw_matches_vmf_weighting():
    z1, z2 = _views(1)
    n1, n2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    w = 2 - z1.shape[0] * torch.softmax((n1 * n2).sum(1) / 0.5, dim=0)
    expected = (dcl_direction(z1, z2, 0.1, w) + dcl_direction(z2, z1, 0.1, w)) / 2
    torch.testing.assert_close(DCLW(temperature=0.1, sigma=0.5)(z1, z2), expected)


def test_dclw_weight_is_not_differentiated():
    z1, z2 = _views(2)
    a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    DCLW()(a, b).backward()
    n1, n2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    w = (2 - z1.shape[0] * torch.softmax((n1 * n2).sum(1) / 0.5, dim=0)).detach()
    c, d = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    ((dcl_direction(c, d, 0.1, w) + dcl_direction(d, c, 0.1, w)) / 2).backward()
    torch.testing.assert_close(a.grad, c.grad)
    torch.testing.assert_close(b.grad, d.grad)


def test_dcl_is_lower_than_nt_xent_by_the_removed_positive():
    from concord.losses import NTXent

    z1, z2 = _views(3)
    assert DCL(temperature=0.5)(z1, z2) < NTXent(temperature=0.5)(z1, z2)
