"""The demo job's configuration (``concord demo train [CONFIG] --set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from concord.devices import check_device
from concord.errors import ConfigError
from concord.run.components import component_field
from concord.validation import check_positive, check_probability

__all__ = ["AugmentConfig", "DataConfig", "DemoConfig", "EvalConfig", "ModelConfig", "TrainConfig"]


@dataclass
class DataConfig:
    root: str = "builtin"
    name: Literal["digits"] = "digits"
    #: share of the 1,797 images held out for testing (stratified); the rest is pretrained on
    test_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.root != "builtin":
            raise ConfigError(
                f"data.root: the demo uses the digits scikit-learn ships, root must be 'builtin', got {self.root!r}"
            )
        check_probability("data.test_fraction", self.test_fraction)


@dataclass
class ModelConfig:
    hidden: int = 256
    dim: int = 128
    projection: int = 128


@dataclass
class AugmentConfig:
    #: largest rotation of a view, in degrees
    rotate: float = 15.0
    #: largest relative change of size of a view
    scale: float = 0.15
    #: largest translation of a view, in pixels
    shift: float = 1.0
    #: probability that a pixel is masked (``feature_mask``)
    mask_p: float = 0.2
    #: standard deviation of the added noise (``gaussian_noise``)
    noise_std: float = 0.1

    def __post_init__(self) -> None:
        for key in ("rotate", "scale", "shift", "noise_std"):
            check_positive(f"augment.{key}", getattr(self, key), allow_zero=True)
        check_probability("augment.mask_p", self.mask_p)


@dataclass
class TrainConfig:
    epochs: int = 60
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    #: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (:mod:`concord.devices`)
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 2:
            raise ConfigError("train.epochs must be >= 0 and train.batch_size >= 2")
        check_positive("train.lr", self.lr)
        check_device("train.device", self.device)


@dataclass
class EvalConfig:
    #: the few-label probes: labelled training images per class
    labels_per_class: list[int] = field(default_factory=lambda: [1, 5, 10])
    #: labelled sets drawn for each entry of labels_per_class
    draws: int = 10

    def __post_init__(self) -> None:
        if not self.labels_per_class or any(
            isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in self.labels_per_class
        ):
            raise ConfigError(f"eval.labels_per_class must be a non-empty list of integers >= 1, got {self.labels_per_class!r}")
        if self.draws < 1:
            raise ConfigError(f"eval.draws must be >= 1, got {self.draws}")


@dataclass
class DemoConfig:
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    #: any registered two-view loss ``loss(z1, z2)``; the other keys are its options
    loss: dict[str, Any] = component_field("losses", {"name": "nt_xent", "temperature": 0.2})
