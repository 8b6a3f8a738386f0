r"""PixPro: pixel-to-propagation consistency against a momentum encoder."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.errors import ConfigError
from concord_vision.models.concord_loss import build_loss, for_ddp
from concord_vision.models.two_view_model import TwoViewModel, Views
from concord_vision.nn import PixelPropagation, ProjectionHead

__all__ = ["PixPro"]


class PixPro(TwoViewModel):
    r"""PixPro (Xie et al. 2021, `Propagate Yourself: Exploring Pixel-Level Consistency for
    Unsupervised Visual Representation Learning <https://arxiv.org/abs/2011.10043>`_, Fig. 2):

    .. math::
        x = h(f(I_1)), \quad y = \mathrm{PPM}(x), \quad x' = h_\xi(f_\xi(I_2)), \qquad
        \mathcal{L}_{\mathrm{PixPro}} = \mathcal{L}(y^{(1)}, x'^{(2)}) + \mathcal{L}(y^{(2)}, x'^{(1)})

    with :math:`f` the backbone (its last stage, C5), :math:`h` a projection head of 1x1 convs,
    PPM the pixel propagation module (:class:`concord_vision.nn.PixelPropagation`, Eqs. 3-4),
    :math:`\mathcal{L}` the consistency over positive pixel pairs (``vision.pixpro``, Eq. 5) and
    :math:`(f_\xi, h_\xi)` the momentum encoder, updated before each step as
    :math:`\xi \leftarrow m\xi + (1 - m)\theta` with :math:`m` raised from 0.99 to 1 on a cosine
    schedule by :class:`concord_vision.hooks.MomentumHook` (the authors' ``_momentum_update``).

    With ``instance_weight > 0`` the instance branch of "PixPro + instance" is added (Sec. 3.4):
    a second projector on the map, average pooling, a BYOL predictor, and
    :math:`\lambda (\mathcal{L}_{ins}(p^{(1)}, z'^{(2)}) + \mathcal{L}_{ins}(p^{(2)}, z'^{(1)}))`
    with :math:`\mathcal{L}_{ins} = \lVert \hat p - \hat z' \rVert^2 = 2 - 2\cos` (``instance_loss``,
    the core's ``l2`` on normalised vectors; the authors write :math:`-2\cos`, the same gradient).

    Args:
        backbone: mmseg backbone config (e.g. ``ResNetV1c``, ``out_indices=(3,)``).
        in_channels: channels of the backbone's last map (512 for ResNet-18).
        projector: :class:`~concord_vision.nn.ProjectionHead` options
            (default: ``hidden_channels=4096, out_channels=256``, the paper's).
        propagation: :class:`~concord_vision.nn.PixelPropagation` options
            (default: ``gamma=2, transform_layers=1``).
        loss: the pixel loss by name (default: ``{'name': 'vision.pixpro', 'threshold': 0.7}``).
        momentum: :math:`m` at the start (default: ``0.99``).
        instance_weight: :math:`\lambda` of the instance branch (default: ``0``: off, the
            paper's PixPro).
        instance_loss: the instance loss by name (default: ``{'name': 'l2'}``).
        data_preprocessor, init_cfg: as for every mmengine model.
    """

    def __init__(
        self,
        backbone: dict,
        in_channels: int = 512,
        projector: dict | None = None,
        propagation: dict | None = None,
        loss: dict | None = None,
        momentum: float = 0.99,
        instance_weight: float = 0.0,
        instance_loss: dict | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector, head = self.projection_head(in_channels, projector)
        dim = head["out_channels"]
        self.propagation = PixelPropagation(dim, **{"gamma": 2.0, "transform_layers": 1,
                                                    **(propagation or {})})
        self.pixel_loss = build_loss(loss or {"name": "vision.pixpro", "threshold": 0.7}, "loss")
        if not instance_weight >= 0:
            raise ConfigError(f"instance_weight must be >= 0, got {instance_weight!r}")
        self.instance_weight = float(instance_weight)
        parts: tuple[str, ...] = ("backbone", "projector")
        if self.instance_weight > 0:
            self.instance_projector = ProjectionHead(in_channels, **head)
            self.predictor = ProjectionHead(dim, head["hidden_channels"], dim)
            self.instance_loss = build_loss(instance_loss or {"name": "l2"}, "instance_loss")
            parts += ("instance_projector",)
        self.init_target(parts, momentum)

    def loss(self, views: Views) -> dict[str, Tensor]:
        f1 = self.last_map(self.backbone, views.first)
        f2 = self.last_map(self.backbone, views.second)
        x1, x2 = self.projector(f1), self.projector(f2)
        y1, y2 = self.propagation(x1), self.propagation(x2)
        with torch.no_grad():
            self.update_target()
            g1 = self.last_map(self.target_part("backbone"), views.first)
            g2 = self.last_map(self.target_part("backbone"), views.second)
            t1, t2 = self.target_part("projector")(g1), self.target_part("projector")(g2)
        hw = (int(y1.shape[2]), int(y1.shape[3]))
        ids = torch.arange(views.batch_size, device=y1.device)
        c1, c2 = views.coordinates(0, hw, ids), views.coordinates(1, hw, ids)
        pixel = self.pixel_loss(self.rows(y1), self.rows(t2), c1, c2) + self.pixel_loss(
            self.rows(y2), self.rows(t1), c2, c1)
        losses: dict[str, Tensor] = {"loss_pixel": for_ddp(self.pixel_loss, pixel)}
        if self.instance_weight > 0:
            p1 = self._instance(self.predictor(self.instance_projector(f1)))
            p2 = self._instance(self.predictor(self.instance_projector(f2)))
            with torch.no_grad():
                z1 = self._instance(self.target_part("instance_projector")(g1))
                z2 = self._instance(self.target_part("instance_projector")(g2))
            inst = self.instance_loss(p1, z2) + self.instance_loss(p2, z1)
            losses["loss_instance"] = self.instance_weight * inst
        return losses

    @staticmethod
    def _instance(x: Tensor) -> Tensor:
        return nn.functional.normalize(x.mean(dim=(2, 3)), dim=1)
