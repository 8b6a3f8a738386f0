r"""PixContrast: pixel-level InfoNCE with PixPro's pixel pairs as the positives."""

from __future__ import annotations

import torch
from torch import Tensor

from concord_vision.models.concord_loss import build_loss, for_ddp
from concord_vision.models.two_view_model import TwoViewModel, Views
from concord_vision.pairs import global_image_ids

__all__ = ["PixContrast"]

DEFAULT_LOSS = {
    "name": "info_nce",
    "sampler": {"name": "vision.pixel_pairs", "threshold": 0.7},
    "temperature": 0.3,
    "positives": "sum",
    "gather": True,
    "empty_positives": "ignore",
}


class PixContrast(TwoViewModel):
    r"""PixContrast (Xie et al. 2021, `Propagate Yourself <https://arxiv.org/abs/2011.10043>`_,
    Sec. 3.1, Eq. 2), in both directions:

    .. math::
        \mathcal{L}_{\mathrm{Cont}}(i) = -\log
            \frac{\sum_{j \in \mathcal{A}_p^i} e^{\cos(x_i, x'_j) / \tau}}
                 {\sum_{j \in \mathcal{A}_p^i} e^{\cos(x_i, x'_j) / \tau}
                  + \sum_{k \in \mathcal{A}_n^i} e^{\cos(x_i, x'_k) / \tau}}

    :math:`x_i` is pixel :math:`i` of the first view's projected map, :math:`x'` the momentum
    encoder's projected map of the second view, :math:`\mathcal{A}_p^i` the pixels closer than
    :math:`\mathcal{T} = 0.7` bin diagonals (``vision.pixel_pairs``) and :math:`\mathcal{A}_n^i`
    every other key pixel -- the rest of the image and every pixel of every other image in the
    global batch. The loss is the core's ``info_nce`` with that sampler, ``positives='sum'`` (the
    positives pooled inside the log, as Eq. 2 writes it) and :math:`\tau = 0.3`, so with
    ``gather=True`` the keys of every process take part and the gradient follows
    :mod:`concord.distributed`'s rule. A query pixel whose crop region the other view does not
    cover has no positive and is left out of the mean (``empty_positives='ignore'``). The value
    is the mean of the two directions :math:`(1 \to 2, 2 \to 1)`, i.e. over the pixels of both
    views.

    The authors released no PixContrast code; the momentum encoder (:math:`m`: 0.99 -> 1, cosine,
    by :class:`concord_vision.hooks.MomentumHook`) and the 1x1-conv projector follow their PixPro.

    Args:
        backbone, in_channels, projector, momentum, data_preprocessor, init_cfg: as
            :class:`concord_vision.models.PixPro`.
        loss: the loss by name (default: the ``info_nce`` configuration above).
    """

    def __init__(
        self,
        backbone: dict,
        in_channels: int = 512,
        projector: dict | None = None,
        loss: dict | None = None,
        momentum: float = 0.99,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg)
        self.projector, _ = self.projection_head(in_channels, projector)
        self.pixel_loss = build_loss(loss or DEFAULT_LOSS, "loss")
        self.init_target(("backbone", "projector"), momentum)

    def loss(self, views: Views) -> dict[str, Tensor]:
        q1 = self.projector(self.last_map(self.backbone, views.first))
        q2 = self.projector(self.last_map(self.backbone, views.second))
        with torch.no_grad():
            self.update_target()
            backbone, projector = self.target_part("backbone"), self.target_part("projector")
            k1 = projector(self.last_map(backbone, views.first))
            k2 = projector(self.last_map(backbone, views.second))
        hw = (int(q1.shape[2]), int(q1.shape[3]))
        ids = global_image_ids(views.batch_size, q1.device)
        c1, c2 = views.coordinates(0, hw, ids), views.coordinates(1, hw, ids)
        one = self.pixel_loss(self.rows(q1), self.rows(k2), query_labels=c1, key_labels=c2)
        two = self.pixel_loss(self.rows(q2), self.rows(k1), query_labels=c2, key_labels=c1)
        return {"loss_pixel": for_ddp(self.pixel_loss, (one + two) / 2)}
