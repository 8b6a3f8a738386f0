"""Shared fixtures of the diffusion plugin's tests: tiny diffusers UNets and small image sets made
here (scikit-learn's digits, generated arrays) -- nothing is downloaded, Fashion-MNIST is not read."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

import pytest
import torch

torch.set_num_threads(1)

TINY_UNET = dict(
    sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16), layers_per_block=1,
    down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
    norm_num_groups=4, attention_head_dim=4,
)


def tiny_unet(seed: int = 0, **changes):
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    return UNet2DModel(**{**TINY_UNET, **changes})


@pytest.fixture
def unet():
    return tiny_unet()


def digits_images(n: int | None = None, size: int = 8):
    """scikit-learn's 8x8 digits as uint8 ``(N, 1, size, size)`` (nearest upscaling) and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32) / 16.0
    x = (x * 255).round().to(torch.uint8)[:, None]
    if size != 8:
        x = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="nearest").to(torch.uint8)
    y = torch.as_tensor(d.target, dtype=torch.long)
    if n is not None:
        x, y = x[:n], y[:n]
    return x, y


@pytest.fixture
def make_unet():
    """``make_unet(seed=0, **changes)``: a tiny 1-channel 8x8 ``UNet2DModel``."""
    return tiny_unet


@pytest.fixture
def digits():
    """``digits(n=None, size=8)``: scikit-learn's digits as uint8 images and labels."""
    return digits_images


TINY_CONFIG = """\
data: {{root: {root}, pad_to: null}}
model: {{sample_size: 8, in_channels: 1, out_channels: 1, block_out_channels: [8, 16], layers_per_block: 1,
        down_block_types: [DownBlock2D, DownBlock2D], up_block_types: [UpBlock2D, UpBlock2D],
        norm_num_groups: 4, attention_head_dim: 4, dropout: 0.1}}
train: {{steps: 8, batch_size: 16, log_every: 1, checkpoint_every: 4, sample_every: 4, threads: 1, device: cpu}}
eval: {{enabled: false, n_samples: 64, classifier_epochs: 2, cache_dir: {cache}, batch_size: 64}}
"""


@pytest.fixture
def tiny_run(tmp_path):
    """``(config path, data folder)``: the digits as ``{train,test}_{images,labels}.npy`` and a
    YAML config of an 8x8 UNet, 8 steps, evaluation off."""
    import numpy as np

    x, y = digits_images()
    data = tmp_path / "digits"
    data.mkdir()
    np.save(data / "train_images.npy", x[:1400, 0].numpy())
    np.save(data / "train_labels.npy", y[:1400].numpy())
    np.save(data / "test_images.npy", x[1400:, 0].numpy())
    np.save(data / "test_labels.npy", y[1400:].numpy())
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(TINY_CONFIG.format(root=data, cache=tmp_path / "cache"))
    return cfg, data
