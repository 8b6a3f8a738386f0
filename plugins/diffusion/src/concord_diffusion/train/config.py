"""The run configuration of ``concord diffusion train``: typed, strict, every field with a default.

Sections: ``data`` (where the images are and how they are framed), ``model`` (the keyword
arguments of ``diffusers.UNet2DModel``), ``ict`` (every choice of the method,
:class:`~concord_diffusion.ict.recipe.Recipe`), ``loss`` (the consistency distance, by registry
name: ``pseudo_huber`` by default), ``train``, ``sample`` and ``eval``. The conventions of the
core hold (``seed``, ``data.root``, ``train.steps``, ``train.device``;
:func:`concord.testing.check_run_schema`).
"""

from __future__ import annotations

import inspect
import math
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from concord.devices import check_device
from concord.errors import ConfigError
from concord.run import check_threads, component_field
from concord.run.data_root import default_data_root
from concord_diffusion.ict.recipe import Recipe

__all__ = ["DEFAULT_UNET", "DataConfig", "DiffusionRunConfig", "EvalConfig", "SampleConfig",
           "TrainConfig", "check_unet_options"]

#: A UNet small enough to train on a CPU: 32x32 grey images, three levels (16, 32, 64 channels),
#: self-attention at 8x8, 0.7M parameters.
DEFAULT_UNET: dict[str, Any] = {
    "sample_size": 32,
    "in_channels": 1,
    "out_channels": 1,
    "block_out_channels": [16, 32, 64],
    "layers_per_block": 1,
    "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
    "norm_num_groups": 8,
    "attention_head_dim": 8,
    "dropout": 0.1,
}


def check_unet_options(options: dict[str, Any]) -> dict[str, Any]:
    """``model`` must be keyword arguments of ``diffusers.UNet2DModel``: an unknown key is a
    :class:`~concord.errors.ConfigError` listing the valid ones; ``in_channels`` must equal
    ``out_channels`` (a consistency model maps images to images)."""
    from diffusers import UNet2DModel

    params = [p for p in inspect.signature(UNet2DModel.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(params))
    if unknown:
        import difflib

        hints = [k + (f" (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(k, params, n=1)) else "")
                 for k in unknown]
        raise ConfigError(f"model: unknown UNet2DModel option(s) {', '.join(hints)}; valid options: {', '.join(params)}")
    merged = {"in_channels": 3, "out_channels": 3, **options}
    if merged["in_channels"] != merged["out_channels"]:
        raise ConfigError(f"model: in_channels={merged['in_channels']} but out_channels={merged['out_channels']}; "
                          "a consistency model maps images to images")
    if options.get("time_embedding_type", "positional") != "positional":
        raise ConfigError("model.time_embedding_type: only 'positional' takes the scheduler's time input "
                          "t = 250 ln sigma (negative for sigma < 1; the Fourier projection takes its log)")
    return options


def default_images_root() -> str:
    """``fashion-mnist`` under the project's data root (``$CONCORD_DATA``, else ``data/``)."""
    return os.path.join(default_data_root(), "fashion-mnist")


@dataclass
class DataConfig:
    #: the data set: a folder of idx files (Fashion-MNIST), ``.npy`` arrays, or images
    #: (default: ``$CONCORD_DATA/fashion-mnist``, else ``data/fashion-mnist``)
    root: str = field(default_factory=default_images_root)
    format: Literal["auto", "idx", "npy", "folder"] = "auto"
    #: axis order of 4-D ``.npy`` arrays (``auto`` refuses ambiguous shapes)
    layout: Literal["auto", "nchw", "nhwc"] = "auto"
    #: zero-pad (black) every image to this square size; ``null`` keeps it (no cropping, no resizing)
    pad_to: int | None = 32
    #: train on the first N images only (``null``: all)
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.pad_to is not None and self.pad_to < 1:
            raise ConfigError(f"data.pad_to must be >= 1 or null, got {self.pad_to}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"data.limit must be >= 1 or null, got {self.limit}")


@dataclass
class TrainConfig:
    steps: int = 2000
    #: the global batch (split evenly over processes)
    batch_size: int = 32
    optimizer: Literal["adam", "radam"] = "radam"
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    weight_decay: float = 0.0
    #: clip the gradient norm to this value (``null``: no clipping; the norm is checked either way)
    grad_clip: float | None = None
    #: EMA rate of the sampling copy (the pipeline saves the EMA weights)
    ema_decay: float = 0.999
    device: str = "auto"
    #: CPU threads for torch (``null``: torch's default); 1 on a shared machine
    threads: int | None = None
    log_every: int = 10
    checkpoint_every: int = 200
    #: a PNG grid of 1-step samples every this many steps (0: only at the end)
    sample_every: int = 500

    def __post_init__(self) -> None:
        check_device("train.device", self.device)
        for name in ("steps", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.sample_every < 0:
            raise ConfigError(f"train.sample_every must be >= 0, got {self.sample_every}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"train.lr must be finite and > 0, got {self.lr}")
        if not 0.0 <= self.ema_decay <= 1.0:
            raise ConfigError(f"train.ema_decay must lie in [0, 1], got {self.ema_decay}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ConfigError(f"train.grad_clip must be > 0 or null, got {self.grad_clip}")
        check_threads("train.threads", self.threads)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"train.betas must be two numbers in [0, 1), got {self.betas}")


@dataclass
class SampleConfig:
    #: images in each PNG grid
    grid: int = 64
    #: the intermediate level of 2-step sampling (``null``: what
    #: ``ConsistencyModelPipeline(num_inference_steps=2)`` uses for the saved scheduler)
    sigma_mid: float | None = None
    #: clamp each step to [-1, 1] (the scheduler's ``clip_denoised``)
    clip: bool = True

    def __post_init__(self) -> None:
        if self.grid < 1:
            raise ConfigError(f"sample.grid must be >= 1, got {self.grid}")
        if self.sigma_mid is not None and not self.sigma_mid > 0:
            raise ConfigError(f"sample.sigma_mid must be > 0 or null, got {self.sigma_mid}")


@dataclass
class EvalConfig:
    enabled: bool = True
    #: generated images for each of the 1-step and 2-step figures
    n_samples: int = 5000
    #: real images to compare with: the data set's test part, or its training images
    reference: Literal["test", "train"] = "test"
    #: the feature network: ``null`` trains a small classifier on the training labels (cached);
    #: ``"package.module:factory"`` names a callable returning a module mapping (N, C, H, W)
    #: images in [-1, 1] to (N, D) features
    feature_net: str | None = None
    classifier_epochs: int = 2
    #: channels of the built-in classifier's first block (then 2x, 4x)
    classifier_width: int = 16
    #: where trained classifiers are kept (``null``: $CONCORD_CACHE/diffusion, else ~/.cache/concord/diffusion)
    cache_dir: str | None = None
    #: k of the k-NN balls of precision / recall (Kynkäänniemi et al.: 3)
    k: int = 3
    batch_size: int = 500

    def __post_init__(self) -> None:
        if self.n_samples < 2 or self.k < 1 or self.batch_size < 1 or self.classifier_epochs < 1:
            raise ConfigError("eval.n_samples must be >= 2; eval.k, eval.batch_size, eval.classifier_epochs >= 1")
        if self.classifier_width < 8 or self.classifier_width % 8:
            raise ConfigError(f"eval.classifier_width must be a multiple of 8 (GroupNorm of 8 groups), got {self.classifier_width}")
        if self.feature_net is not None and ":" not in self.feature_net:
            raise ConfigError(f"eval.feature_net must look like 'package.module:factory', got {self.feature_net!r}")


@dataclass
class DiffusionRunConfig:
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_UNET))
    ict: Recipe = field(default_factory=Recipe)
    #: the consistency distance d(x, y) by registry name; its options are the other keys
    loss: dict[str, Any] = component_field("losses", {"name": "pseudo_huber"})
    train: TrainConfig = field(default_factory=TrainConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        check_unet_options(self.model)
        size = self.model.get("sample_size")
        if self.data.pad_to is not None and size is not None and size != self.data.pad_to:
            raise ConfigError(f"model.sample_size={size} but data.pad_to={self.data.pad_to}: the UNet must "
                              "see images of the size they are padded to")
        if self.sample.sigma_mid is not None and not self.ict.sigma_min < self.sample.sigma_mid < self.ict.sigma_max:
            raise ConfigError(f"sample.sigma_mid={self.sample.sigma_mid} must lie between ict.sigma_min and ict.sigma_max")
