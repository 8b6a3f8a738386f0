"""Shared machinery of the two-view pretraining models (not itself a method)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch
from mmengine.model import BaseModel, ExponentialMovingAverage
from torch import Tensor, nn

from concord.errors import ConfigError, InputError
from concord_vision.geometry import bin_coordinates
from concord_vision.nn import ProjectionHead

__all__ = ["TwoViewModel", "Views"]


class Views:
    """One batch of two views: images ``(B, 3, H, W)`` each, boxes ``(B, 2, 4)``, flips ``(B, 2)``."""

    def __init__(self, inputs: Tensor, data_samples: list[Any] | None) -> None:
        if inputs.dim() != 5 or inputs.shape[1] != 2:
            raise InputError(f"expected (B, 2, 3, H, W) inputs, got {tuple(inputs.shape)}")
        self.first, self.second = inputs[:, 0], inputs[:, 1]
        self.batch_size = int(inputs.shape[0])
        if data_samples is None:
            self.boxes = self.flips = None
        else:
            self.boxes = torch.stack([s.crop_boxes for s in data_samples]).to(inputs.device)
            self.flips = torch.stack([s.flips for s in data_samples]).to(inputs.device)

    def coordinates(self, view: int, feature_hw: tuple[int, int], image_ids: Tensor) -> Tensor:
        """``(B * h * w, 4)`` pixel labels of view 0 or 1 (see :func:`bin_coordinates`)."""
        if self.boxes is None or self.flips is None:
            raise ConfigError("this model needs the crop boxes: pack the views with ConcordPackTwoViews")
        return bin_coordinates(self.boxes[:, view], self.flips[:, view], feature_hw, image_ids)


class TwoViewModel(BaseModel):
    """An online network trained against a momentum copy of some of its parts on two views.

    Subclasses build their parts, then call :meth:`init_target` with the names of the parts the
    momentum network averages; the target is mmengine's :class:`ExponentialMovingAverage` of
    them (its own ``momentum`` is ``1 - m`` in concord's convention
    :math:`\\xi \\leftarrow m \\xi + (1 - m) \\theta`). :class:`concord_vision.hooks.MomentumHook`
    sets :attr:`momentum` before every iteration. ``backbone`` is the network that is exported
    and fine-tuned (keys ``backbone.*``).

    Modes: ``loss`` (training), ``tensor`` (the backbone's last feature map of the first view).
    """

    def __init__(
        self, backbone: dict, data_preprocessor: dict | None = None, init_cfg: dict | None = None
    ) -> None:
        from mmseg.registry import MODELS

        if data_preprocessor is None:
            data_preprocessor = {"type": "ConcordTwoViewPreprocessor"}
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self._target_parts: tuple[str, ...] = ()
        self._momentum = 0.0

    # -- heads -----------------------------------------------------------------------------
    @staticmethod
    def projection_head(in_channels: int, options: dict | None) -> tuple[ProjectionHead, dict]:
        """The 1x1-conv projector with the paper's widths (4096 hidden, 256 out) unless
        ``options`` say otherwise; returns it and the widths used."""
        head = {"hidden_channels": 4096, "out_channels": 256, **(options or {})}
        return ProjectionHead(in_channels, **head), head

    # -- momentum network ------------------------------------------------------------------
    def init_target(self, parts: tuple[str, ...], momentum: float) -> None:
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"momentum must lie in [0, 1], got {momentum!r}")
        self._target_parts = parts
        self.target = ExponentialMovingAverage(self._online(), momentum=1.0 - momentum)
        self._momentum = float(momentum)

    def _online(self) -> nn.ModuleDict:
        return nn.ModuleDict({name: getattr(self, name) for name in self._target_parts})

    @property
    def momentum(self) -> float:
        """:math:`m` of :math:`\\xi \\leftarrow m \\xi + (1 - m) \\theta`."""
        return self._momentum

    @momentum.setter
    def momentum(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"momentum must lie in [0, 1], got {value!r}")
        self._momentum = float(value)
        self.target.momentum = 1.0 - float(value)

    @torch.no_grad()
    def update_target(self) -> None:
        """One EMA step of the target towards the online parts (the first call copies them)."""
        self.target.update_parameters(self._online())

    def target_part(self, name: str) -> nn.Module:
        return self.target.module[name]

    # -- features ----------------------------------------------------------------------------
    @staticmethod
    def last_map(backbone: nn.Module, x: Tensor) -> Tensor:
        out = backbone(x)
        return out[-1] if isinstance(out, (list, tuple)) else out

    @staticmethod
    def rows(x: Tensor) -> Tensor:
        """``(B, C, h, w) -> (B * h * w, C)``, image-major then row-major."""
        return x.flatten(2).transpose(1, 2).reshape(-1, x.shape[1])

    # -- mmengine entry points ---------------------------------------------------------------
    def forward(self, inputs: Tensor, data_samples: list[Any] | None = None, mode: str = "loss"):
        if mode == "loss":
            return self.loss(Views(inputs, data_samples))
        if mode == "tensor":
            return self.last_map(self.backbone, Views(inputs, None).first)
        raise ConfigError(f"{type(self).__name__} supports mode 'loss' and 'tensor', got {mode!r} "
                         "(pretraining models make no predictions; fine-tune the backbone)")

    @abstractmethod
    def loss(self, views: Views) -> dict[str, Tensor]:
        """The losses of one batch (keys containing ``loss`` are summed by mmengine)."""
