"""The EMA copy against its closed form."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from concord_diffusion.ict.ema import EMA


def test_closed_form_after_k_updates():
    """With the model held at theta, k updates give mu^k theta0 + (1 - mu^k) theta. Catches a
    swapped decay (weighting the model by mu)."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    theta0 = [p.detach().clone() for p in model.parameters()]
    ema = EMA(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    for _ in range(7):
        ema.update(model, 0.9)
    for p0, p, pe in zip(theta0, model.parameters(), ema.module.parameters()):
        torch.testing.assert_close(pe, 0.9**7 * p0 + (1 - 0.9**7) * p.detach())


def test_copy_is_frozen_and_decay_zero_copies():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    ema = EMA(model)
    assert not ema.module.training and not any(p.requires_grad for p in ema.module.parameters())
    with torch.no_grad():
        model[0].weight.mul_(3)
    ema.update(model, 0.0)
    assert torch.equal(ema.module[0].weight, model[0].weight)
    with pytest.raises(ValueError, match="decay must lie in"):
        ema.update(model, 1.5)
