r"""DenseCL: dense contrastive learning with feature-matched pixel pairs (a baseline)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.errors import ConfigError
from concord.queue import MemoryQueue
from concord_vision.models.two_view_model import TwoViewModel, Views
from concord_vision.nn import ProjectionHead

__all__ = ["DenseCL"]


def moco_loss(q: Tensor, k: Tensor, queue: MemoryQueue, temperature: float) -> Tensor:
    r"""MoCo's InfoNCE (He et al. 2020, Eq. 1): one positive key per query, negatives from the
    queue only -- the ``ContrastiveHead`` cross entropy of DenseCL's code:

    .. math::
        -\log \frac{e^{q \cdot k_+ / \tau}}{e^{q \cdot k_+ / \tau} + \sum_{k_- \in Q} e^{q \cdot k_- / \tau}}

    (the core's ``info_nce`` would also contrast each query with the other keys of the batch,
    which for dense queries means the other pixels of its own image: not DenseCL's loss).
    Shapes: q, k ``(N, D)`` unit vectors; the queue ``(K, D)``.
    """
    positive = (q * k).sum(dim=1, keepdim=True)
    negatives = q @ queue.keys().to(q.dtype).T if len(queue) else q.new_zeros(q.shape[0], 0)
    logits = torch.cat([positive, negatives], dim=1) / temperature
    return nn.functional.cross_entropy(logits, torch.zeros(q.shape[0], dtype=torch.long, device=q.device))


class DenseCL(TwoViewModel):
    r"""DenseCL (Wang et al. 2021, `Dense Contrastive Learning for Self-Supervised Visual
    Pre-Training <https://arxiv.org/abs/2011.09157>`_, Eqs. 1-4):

    .. math::
        \mathcal{L} = (1 - \lambda)\, \mathcal{L}_q + \lambda\, \mathcal{L}_r, \qquad
        \mathcal{L}_r = \frac{1}{S^2} \sum_s -\log
            \frac{e^{r^s \cdot t_+^s / \tau}}{e^{r^s \cdot t_+^s / \tau} + \sum_{k} e^{r^s \cdot t_-^k / \tau}}

    :math:`\mathcal{L}_q` is MoCo v2 on globally pooled features (an MLP head);
    :math:`r^s` are the dense head's (1x1 conv - ReLU - 1x1 conv) outputs of the first view and
    :math:`t_+^s` the momentum encoder's dense output at the pixel of the second view whose
    *backbone* feature is most similar to pixel :math:`s`'s (:math:`\arg\max_j \cos(f^s, f'^j)`);
    negatives come from two queues (the global keys, and the pooled dense keys) of the core's
    :class:`concord.queue.MemoryQueue`, which gathers across processes. :math:`\lambda = 0.5`,
    :math:`\tau = 0.2`, momentum 0.999 (mmselfsup / the authors' defaults).

    The warm-up is on: :class:`concord_vision.hooks.DenseCLWarmupHook` holds :math:`\lambda = 0`
    for the first iterations, so the matching starts from a backbone that has learnt something
    (the authors' ``DenseCLHook``; mmselfsup's config ships without it). Departures, for the
    scale these benchmarks run at: the queues start empty instead of random, and their length is
    a config value (65536 keys would be older than the whole CamVid training set).

    Args:
        backbone, in_channels, data_preprocessor, init_cfg: as :class:`concord_vision.models.PixPro`.
        hidden_channels, out_channels: the heads' widths (default: ``2048``, ``128``).
        queue_size: keys per queue (default: ``65536``).
        temperature: :math:`\tau` (default: ``0.2``).
        loss_lambda: :math:`\lambda` (default: ``0.5``).
        momentum: :math:`m` (default: ``0.999``; fixed unless a MomentumHook is configured).
    """

    def __init__(
        self,
        backbone: dict,
        in_channels: int = 512,
        hidden_channels: int = 2048,
        out_channels: int = 128,
        queue_size: int = 65536,
        temperature: float = 0.2,
        loss_lambda: float = 0.5,
        momentum: float = 0.999,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(backbone, data_preprocessor, init_cfg)
        if not temperature > 0:
            raise ConfigError(f"temperature must be > 0, got {temperature!r}")
        if not 0 <= loss_lambda <= 1:
            raise ConfigError(f"loss_lambda must lie in [0, 1], got {loss_lambda!r}")
        self.global_head = ProjectionHead(in_channels, hidden_channels, out_channels, norm=False)
        self.dense_head = ProjectionHead(in_channels, hidden_channels, out_channels, norm=False)
        self.global_queue = MemoryQueue(size=queue_size, dim=out_channels)
        self.dense_queue = MemoryQueue(size=queue_size, dim=out_channels)
        self.temperature = float(temperature)
        self.loss_lambda = float(loss_lambda)
        self.init_target(("backbone", "global_head", "dense_head"), momentum)

    @staticmethod
    def matches(query_map: Tensor, key_map: Tensor) -> Tensor:
        r"""For every pixel of each query map, the key pixel of the same image with the most
        similar feature, :math:`\arg\max_j \cos(f^s, f'^j)`: ``(B, HW)`` indices into ``HW``."""
        q = nn.functional.normalize(query_map.flatten(2), dim=1)
        k = nn.functional.normalize(key_map.flatten(2), dim=1)
        return torch.bmm(q.transpose(1, 2), k).argmax(dim=2)

    def loss(self, views: Views) -> dict[str, Tensor]:
        unit = lambda t: nn.functional.normalize(t, dim=1)  # noqa: E731
        f = self.last_map(self.backbone, views.first)
        q = unit(self.global_head(f.mean(dim=(2, 3), keepdim=True)).flatten(1))
        r = unit(self.dense_head(f).flatten(2))  # (B, D, S^2)
        with torch.no_grad():
            self.update_target()
            fk = self.last_map(self.target_part("backbone"), views.second)
            k = unit(self.target_part("global_head")(fk.mean(dim=(2, 3), keepdim=True)).flatten(1))
            t = unit(self.target_part("dense_head")(fk).flatten(2))  # (B, D, S^2)
            k_dense_pooled = unit(t.mean(dim=2))
            match = self.matches(f.detach(), fk)
            t_matched = torch.gather(t, 2, match[:, None, :].expand(-1, t.shape[1], -1))
        rows = lambda x: x.transpose(1, 2).reshape(-1, x.shape[1])  # noqa: E731
        single = moco_loss(q, k, self.global_queue, self.temperature)
        dense = moco_loss(rows(r), rows(t_matched), self.dense_queue, self.temperature)
        self.global_queue.enqueue(k)
        self.dense_queue.enqueue(k_dense_pooled)
        return {"loss_single": (1 - self.loss_lambda) * single, "loss_dense": self.loss_lambda * dense}
