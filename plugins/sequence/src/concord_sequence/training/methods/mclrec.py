"""MCLRec: the encoder and two learnable augmenters, updated in alternation."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from concord import distributed
from concord.distributed import sum_gradients
from concord.errors import ConfigError
from concord_sequence.augment.pair_views import PairViews
from concord_sequence.data.batch import SequenceBatch
from concord_sequence.data.split import LeaveOneOut
from concord_sequence.losses.mclrec import MCLRecLoss
from concord_sequence.models.augmenter import MLPAugmenter
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.methods.base import Method
from concord_sequence.training.methods.bilevel import unrolled_hypergradient
from concord_sequence.training.methods.components import build_augmentations, contrastive_loss

__all__ = ["MCLRecMethod"]


class MCLRecMethod(Method):
    r"""MCLRec (Qin et al. 2023): the encoder minimises
    :math:`\mathcal{L}_{rec} + \lambda \mathcal{L}_{cl} + \beta \mathcal{L}_{mcl}`, the two
    augmenters :math:`\lambda \mathcal{L}_{cl} + \mathcal{L}_{mcl}`
    (:class:`~concord_sequence.losses.MCLRecLoss`). ``method.meta_update``:

    * ``first_order``: the official trainer's three steps per batch -- encoder (augmenters
      frozen), augmenters, encoder again;
    * ``bilevel``: one augmenter step along the exact hypergradient of the one-step unrolled
      problem (:func:`~concord_sequence.training.methods.bilevel.unrolled_hypergradient`,
      ``method.meta_step`` the virtual step size; one process only), then one encoder step.
    """

    name = "mclrec"

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        super().__init__(cfg, model, data, generator, device)
        m = cfg.method
        if m.meta_update == "bilevel" and distributed.is_distributed():
            raise ConfigError("method.meta_update=bilevel runs on one process; use first_order under torchrun")
        self.views = PairViews(build_augmentations(m.augmentations, model, data, m.similar_items_top_k))
        self.loss: MCLRecLoss = contrastive_loss(cfg)
        self.aug1 = MLPAugmenter(model.hidden).to(device)
        self.aug2 = MLPAugmenter(model.hidden).to(device)
        self.aug_params = [*self.aug1.parameters(), *self.aug2.parameters()]
        self.aug_optimizer = torch.optim.Adam(self.aug_params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)

    def _set_aug_trainable(self, flag: bool) -> None:
        for p in self.aug_params:
            p.requires_grad_(flag)

    def encoder_objective(self, batch: SequenceBatch, targets: Tensor, v1: SequenceBatch,
                          v2: SequenceBatch) -> tuple[Tensor, Tensor]:
        rec = self.rec(self.encode(batch), targets)
        h1, h2 = self.encode(v1), self.encode(v2)
        return rec + self.loss(h1, h2, self.aug1(h1), self.aug2(h2)), rec

    def meta_objective(self, v1: SequenceBatch, v2: SequenceBatch, *, encoder_grad: bool) -> Tensor:
        with torch.set_grad_enabled(encoder_grad):
            h1, h2 = self.encode(v1), self.encode(v2)
        return self.loss.meta_objective(h1, h2, self.aug1(h1), self.aug2(h2))

    def hypergradient(self, batch: SequenceBatch, targets: Tensor, v1: SequenceBatch,
                      v2: SequenceBatch) -> tuple[float, list[Tensor]]:
        """The meta objective after the virtual encoder step, and its exact gradient with respect
        to the augmenters (in ``aug_params`` order)."""
        return unrolled_hypergradient(self.model, (self.aug1, self.aug2), self.loss, batch, targets, v1, v2,
                                      step=self.cfg.method.meta_step, device=self.device)

    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        v1, v2 = self.views(batch, self.generator)
        if self.cfg.method.meta_update == "bilevel":
            self.aug_optimizer.zero_grad(set_to_none=True)
            meta, hyper = self.hypergradient(batch, targets, v1, v2)
            for p, g in zip(self.aug_params, hyper):
                p.grad = g
            self.aug_optimizer.step()
        else:
            # official step 1: the encoder, augmenters frozen
            self._set_aug_trainable(False)
            loss, _ = self.encoder_objective(batch, targets, v1, v2)
            self.encoder_step(loss)
            # official step 2: the augmenters, on lambda*L_cl + L_mcl (the encoder is not updated
            # here, so its forward runs without a graph; the augmenters' gradient is unchanged)
            self._set_aug_trainable(True)
            self.aug_optimizer.zero_grad(set_to_none=True)
            meta_loss = self.meta_objective(v1, v2, encoder_grad=False)
            meta_loss.backward()
            sum_gradients(self.aug_params)
            self.aug_optimizer.step()
            meta = float(meta_loss.detach())
        # official step 3 (bilevel: the encoder's one real step), augmenters frozen
        self._set_aug_trainable(False)
        loss, rec = self.encoder_objective(batch, targets, v1, v2)
        self.encoder_step(loss)
        self._set_aug_trainable(True)
        return {"loss": float(loss.detach()), "rec": float(rec.detach()), "meta": meta}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "aug1": self.aug1.state_dict(),
                "aug2": self.aug2.state_dict(), "aug_optimizer": self.aug_optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.aug1.load_state_dict(state["aug1"])
        self.aug2.load_state_dict(state["aug2"])
        self.aug_optimizer.load_state_dict(state["aug_optimizer"])
