"""Student and teacher share dropout masks; the generators end where one forward leaves them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from concord_diffusion.ict.dropout_sync import rewound_rng, rng_devices


class DropoutOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.5)

    def forward(self, x, sigma=None):
        return self.drop(x)


def test_teacher_replays_the_students_masks_on_cpu():
    """Catches a teacher that draws its own masks (mode none) or a replay that rewinds too late."""
    net = DropoutOnly().train()
    x = torch.ones(4, 256)
    torch.manual_seed(0)
    with rewound_rng(x.device, "device"):
        student = net(x)
    teacher = net(x)
    assert torch.equal(student, teacher)
    assert 0.3 < float((student == 0).float().mean()) < 0.7
    torch.manual_seed(0)
    with rewound_rng(x.device, "none"):
        student = net(x)
    assert not torch.equal(student, net(x))


def test_generator_continues_as_after_one_forward():
    """After student + replayed teacher, the next random draw is the one a run with a single
    forward would make: the replay costs the rest of training nothing."""
    net = DropoutOnly().train()
    x = torch.ones(2, 64)
    torch.manual_seed(1)
    net(x)
    expected = torch.rand(3)
    torch.manual_seed(1)
    with rewound_rng(x.device):
        net(x)
    net(x)
    assert torch.equal(torch.rand(3), expected)


def test_the_models_device_generator_is_the_one_rewound():
    """Device-independence: a model on cuda:1 forks CUDA device 1's generator (the CPU's is
    always forked); the research script's 'cpu' mode forks only the CPU's, so its teacher draws
    fresh masks on a GPU. (No GPU here: the dispatch is what can be checked on the CPU.)"""
    assert rng_devices(torch.device("cpu")) == ([], None)
    assert rng_devices(torch.device("cuda", 1)) == ([1], "cuda")
    assert rng_devices(torch.device("cuda", 1), "cpu") == ([], None)
    with pytest.raises(ValueError, match="dropout_sync must be one of"):
        rng_devices(torch.device("cpu"), "gpu")


def test_unet_dropout_masks_match(make_unet):
    """The same on a diffusers UNet with dropout: identical inputs, identical outputs."""
    unet = make_unet(dropout=0.3).train()
    x, t = torch.randn(3, 1, 8, 8), torch.tensor([1.0, 2.0, 3.0])
    with torch.no_grad():
        with rewound_rng(x.device):
            a = unet(x, t).sample
        b = unet(x, t).sample
        c = unet(x, t).sample
    assert torch.equal(a, b)
    assert not torch.equal(b, c)
