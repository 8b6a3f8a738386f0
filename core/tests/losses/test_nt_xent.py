"""NT-Xent against pytorch-metric-learning and against SimCLR's formula written out."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from concord.losses import NTXent


def simclr_loop(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """SimCLR Algorithm 1, one term at a time."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    total = 0.0
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        num = math.exp(float(z[i] @ z[j]) / tau)
        den = sum(math.exp(float(z[i] @ z[k]) / tau) for k in range(2 * n) if k != i)
        total += -math.log(num / den)
    return torch.tensor(total / (2 * n))


@pytest.mark.parametrize("n, d, tau", [(4, 3, 0.5), (16, 8, 0.1), (33, 5, 1.0)])
def test_matches_pytorch_metric_learning(n, d, tau):
    from pytorch_metric_learning.losses import NTXentLoss

    g = torch.Generator().manual_seed(n)
    z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    labels = torch.cat([torch.arange(n), torch.arange(n)])
    expected = NTXentLoss(temperature=tau)(torch.cat([z1, z2]), labels)
    assert torch.allclose(NTXent(temperature=tau)(z1, z2), expected, atol=1e-5, rtol=1e-5)


def test_gradients_match_pytorch_metric_learning():
    from pytorch_metric_learning.losses import NTXentLoss

    g = torch.Generator().manual_seed(0)
    z = torch.randn(20, 6, generator=g)
    a = z.clone().requires_grad_(True)
    b = z.clone().requires_grad_(True)
    NTXent(temperature=0.2)(a[:10], a[10:]).backward()
    NTXentLoss(temperature=0.2)(b, torch.cat([torch.arange(10), torch.arange(10)])).backward()
    torch.testing.assert_close(a.grad, b.grad, atol=1e-6, rtol=1e-5)


def test_matches_simclr_loop():
    g = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    assert torch.allclose(NTXent(temperature=0.3)(z1, z2), simclr_loop(z1, z2, 0.3), atol=1e-5)


def test_blocks_give_same_loss_and_gradients():
    g = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(13, 5, generator=g), torch.randn(13, 5, generator=g)
    grads = []
    values = []
    for block in (None, 1, 4, 100):
        a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        loss = NTXent(temperature=0.2, block_size=block)(a, b)
        loss.backward()
        values.append(loss.detach())
        grads.append((a.grad, b.grad))
    for v, (ga, gb) in zip(values[1:], grads[1:]):
        torch.testing.assert_close(v, values[0])
        torch.testing.assert_close(ga, grads[0][0])
        torch.testing.assert_close(gb, grads[0][1])


def test_identical_views_far_apart_give_small_loss():
    z = torch.eye(6) * 5
    small = NTXent(temperature=0.05)(z, z)
    assert small < 1e-6  # each positive has similarity 1, every negative 0: exp(-20) terms


def test_learnable_temperature_starts_at_value_and_learns():
    loss = NTXent(temperature=0.25, learn_temperature=True)
    assert math.isclose(float(loss.tau().detach()), 0.25, rel_tol=1e-6)
    g = torch.Generator().manual_seed(3)
    z1, z2 = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    torch.testing.assert_close(loss(z1, z2), NTXent(temperature=0.25)(z1, z2))
    loss(z1, z2).backward()
    assert loss.log_temperature.grad is not None and loss.log_temperature.grad != 0


def test_repr_and_config():
    assert repr(NTXent()) == "NTXent()"
    assert repr(NTXent(temperature=0.1)) == "NTXent(temperature=0.1)"
    cfg = NTXent(temperature=0.1, block_size=8).config()
    assert cfg == {"temperature": 0.1, "learn_temperature": False, "normalize": True,
                   "gather": False, "block_size": 8}


@pytest.mark.parametrize(
    "init, args, match",
    [
        ({"temperature": 0.0}, None, "temperature must be finite and > 0"),
        ({"temperature": -0.5}, None, "temperature"),
        ({"block_size": 0}, None, "block_size"),
        ({}, (torch.randn(4, 3), torch.randn(5, 3)), "batch sizes differ: z1 has 4, z2 has 5"),
        ({}, (torch.randn(4, 3), torch.randn(4, 2)), "dimensions differ"),
        ({}, (torch.full((4, 3), float("nan")), torch.randn(4, 3)), "z1 contains non-finite values"),
        ({}, (torch.randn(4), torch.randn(4)), "z1 must be 2-D"),
        ({}, (torch.randint(0, 3, (4, 3)), torch.randn(4, 3)), "floating-point"),
    ],
)
def test_bad_input_raises_clear_value_error(init, args, match):
    with pytest.raises(ValueError, match=match):
        NTXent(**init)(*args) if args is not None else NTXent(**init)
