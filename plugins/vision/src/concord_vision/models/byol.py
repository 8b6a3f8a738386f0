r"""BYOL-style instance-level baseline on the same backbone and views."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord_vision.models.concord_loss import build_loss, for_ddp
from concord_vision.models.two_view_model import TwoViewModel, Views
from concord_vision.nn import ProjectionHead

__all__ = ["BYOL"]


class BYOL(TwoViewModel):
    r"""BYOL (Grill et al. 2020, `Bootstrap Your Own Latent <https://arxiv.org/abs/2006.07733>`_,
    Eq. 2 and its symmetrisation):

    .. math::
        z = g(\bar f(I)), \quad p = q(z), \quad z' = g_\xi(\bar f_\xi(I')), \qquad
        \mathcal{L} = \lVert \hat p^{(1)} - \hat z'^{(2)} \rVert_2^2
                    + \lVert \hat p^{(2)} - \hat z'^{(1)} \rVert_2^2

    with :math:`\bar f` the globally average-pooled backbone map, :math:`g` the projector and
    :math:`q` the predictor (two-layer MLPs with BN, written as 1x1 convs on the pooled map),
    :math:`\hat{\cdot}` L2 normalisation (so each term is :math:`2 - 2\cos`, the core's ``l2``
    loss on normalised vectors) and the momentum network updated as in
    :class:`concord_vision.models.PixPro`. It is PixPro's instance-level counterpart: same
    backbone, same two views, same momentum schedule, so the two differ only in the dense head
    -- the comparison the paper's claim (dense beats instance-level for dense transfer) needs.

    Args:
        backbone, in_channels, projector, momentum, data_preprocessor, init_cfg: as
            :class:`concord_vision.models.PixPro`.
        predictor_hidden: the predictor's hidden width (default: the projector's).
        loss: the per-pair loss by name (default: ``{'name': 'l2'}``).
    """

    def __init__(
        self,
        backbone: dict,
        in_channels: int = 512,
        projector: dict | None = None,
        predictor_hidden: int | None = None,
        loss: dict | None = None,
        momentum: float = 0.99,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector, head = self.projection_head(in_channels, projector)
        dim = head["out_channels"]
        self.predictor = ProjectionHead(dim, predictor_hidden or head["hidden_channels"], dim)
        self.instance_loss = build_loss(loss or {"name": "l2"}, "loss")
        self.init_target(("backbone", "projector"), momentum)

    @staticmethod
    def _pooled(backbone: nn.Module, x: Tensor) -> Tensor:
        return TwoViewModel.last_map(backbone, x).mean(dim=(2, 3), keepdim=True)

    def loss(self, views: Views) -> dict[str, Tensor]:
        unit = lambda t: nn.functional.normalize(t.flatten(1), dim=1)  # noqa: E731
        p1 = unit(self.predictor(self.projector(self._pooled(self.backbone, views.first))))
        p2 = unit(self.predictor(self.projector(self._pooled(self.backbone, views.second))))
        with torch.no_grad():
            self.update_target()
            backbone, projector = self.target_part("backbone"), self.target_part("projector")
            z1 = unit(projector(self._pooled(backbone, views.first)))
            z2 = unit(projector(self._pooled(backbone, views.second)))
        value = self.instance_loss(p1, z2) + self.instance_loss(p2, z1)
        return {"loss_instance": for_ddp(self.instance_loss, value)}
