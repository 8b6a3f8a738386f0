"""Analytic gradients of every contrastive loss against finite differences (float64)."""

from __future__ import annotations

import pytest
import torch

from concord.losses import DCL, DCLW, InfoNCE, NTXent, SupCon


def _t(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_(True)


# DCLW with detach_weight=True is left out: its analytic gradient omits the weight's dependence
# by design (test_dcl checks that gradient against lightly's detached weight).
@pytest.mark.parametrize("loss", [NTXent(temperature=0.3), NTXent(block_size=2), DCL(), DCLW(sigma=0.7)],
                         ids=["nt_xent", "nt_xent-blocks", "dcl", "dclw"])
def test_two_view_losses(loss):
    assert torch.autograd.gradcheck(loss, (_t(5, 3), _t(5, 3, seed=1)))


@pytest.mark.parametrize("loss", [NTXent(temperature=0.3), NTXent(block_size=2), DCL(block_size=3)],
                         ids=["nt_xent", "nt_xent-blocks", "dcl-blocks"])
def test_second_order_gradients(loss):
    """Bilevel / meta-gradient users (MCLRec's exact option) differentiate the backward pass:
    the in-place masking and the single-buffer log-sum-exp backward must stay twice
    differentiable."""
    assert torch.autograd.gradgradcheck(loss, (_t(5, 3), _t(5, 3, seed=1)))


@pytest.mark.parametrize("scale", [1.0, 200.0], ids=["unshifted", "shifted"])
def test_log_sum_exp_equals_torch(scale):
    """The in-place log-sum-exp against ``torch.logsumexp``: value, gradient (a masked entry's
    exactly 0), second-order gradient, and an all ``-inf`` row, on both of its paths (row maxima
    within +-60: no shift; beyond: shifted by the row maximum, where an unshifted exp overflows).
    """
    from concord.losses.contrast import _log_sum_exp

    x = (_t(4, 6) * scale).detach().requires_grad_(True)
    with torch.no_grad():
        x[1, 2] = float("-inf")  # a masked entry: gradient exactly 0
    g = _t(4, seed=3).detach()
    ours = _log_sum_exp(x.clone())
    want = torch.logsumexp(x, dim=1)
    assert torch.allclose(ours, want, rtol=1e-14, atol=0) and torch.isfinite(ours).all()
    (mine,) = torch.autograd.grad(ours, x, g)
    (theirs,) = torch.autograd.grad(want, x, g)
    assert torch.allclose(mine, theirs, rtol=1e-12, atol=1e-15) and mine[1, 2] == 0
    assert torch.autograd.gradcheck(lambda a: _log_sum_exp(a.clone()), (x,))
    assert torch.autograd.gradgradcheck(lambda a: _log_sum_exp(a.clone()), (x,))
    dead = torch.full((2, 3), float("-inf"), dtype=torch.float64)
    dead[1] = 0.0
    assert torch.equal(_log_sum_exp(dead.clone()), torch.logsumexp(dead, dim=1))


def test_log_sum_exp_float32_large_logits():
    """float32 cosine logits at tau = 0.01 (|x| up to 100): an unshifted exp would overflow
    to inf; the shifted path equals torch.logsumexp."""
    from concord.losses.contrast import _log_sum_exp

    gen = torch.Generator().manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(64, 8, generator=gen), dim=1)
    x = z @ z.T / 0.01
    assert torch.allclose(_log_sum_exp(x.clone()), torch.logsumexp(x, dim=1), rtol=1e-6, atol=0)


def test_info_nce_with_labels_sampler_and_negatives():
    y = torch.tensor([0, 1, 0, 1, 2])
    loss = InfoNCE(temperature=0.5, sampler="labels", block_size=2)
    neg = _t(3, 3, seed=2)
    fn = lambda q, k, n: loss(q, k, query_labels=y, key_labels=y, negatives=n,  # noqa: E731
                              negative_labels=torch.tensor([0, 1, 2]))
    assert torch.autograd.gradcheck(fn, (_t(5, 3), _t(5, 3, seed=1), neg))


def test_sup_con():
    y = torch.tensor([0, 1, 0, 1, 2, 2])
    assert torch.autograd.gradcheck(lambda f: SupCon(temperature=0.2)(f, y), (_t(6, 2, 3),))


def test_learnable_temperature_gradient_matches_finite_difference():
    z1, z2 = _t(6, 3).detach(), _t(6, 3, seed=1).detach()
    loss = NTXent(temperature=0.4, learn_temperature=True).double()
    loss(z1, z2).backward()
    eps = 1e-6
    with torch.no_grad():
        loss.log_temperature += eps
        up = loss(z1, z2)
        loss.log_temperature -= 2 * eps
        down = loss(z1, z2)
    assert abs(float(loss.log_temperature.grad) - float(up - down) / (2 * eps)) < 1e-6


def test_backward_twice_through_the_same_graph():
    """The log-sum-exp keeps its exponentials for the backward and must not overwrite them
    there: a second backward through the same graph (``retain_graph=True``, e.g. gradients of
    two parameter groups taken separately) gives the same gradient again."""
    z1, z2 = _t(6, 4), _t(6, 4, seed=1)
    loss = NTXent(temperature=0.2)(z1, z2)
    (first,) = torch.autograd.grad(loss, z1, retain_graph=True)
    (second,) = torch.autograd.grad(loss, z1)
    assert torch.equal(first, second)
