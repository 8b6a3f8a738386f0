"""What every training method shares: the batch, the encoder, L_rec, the encoder's step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from torch import Tensor

from concord.distributed import sum_gradients
from concord_sequence.data.batch import SequenceBatch
from concord_sequence.data.split import LeaveOneOut
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.rec_loss import rec_loss

__all__ = ["Method"]


class Method(ABC):
    """A training method: :meth:`step` runs one batch of training samples (its optimizer steps
    included) and returns the values to log. Subclasses implement :meth:`step` from the helpers
    here; :meth:`state_dict` holds what ``--resume`` needs beyond the model's weights."""

    #: the ``method.name`` the class implements
    name: str = ""

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        self.cfg, self.model, self.data, self.generator, self.device = cfg, model, data, generator, device
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)

    def batch(self, samples: np.ndarray) -> tuple[SequenceBatch, Tensor]:
        """The inputs (on the CPU, where augmentations draw) and the targets (on the device)."""
        items, lengths = self.data.inputs(self.data.train_user[samples], self.data.train_pos[samples])
        targets = self.data.targets(self.data.train_user[samples], self.data.train_pos[samples])
        return SequenceBatch(items, lengths), targets.to(self.device)

    def encode(self, batch: SequenceBatch) -> Tensor:
        return self.model(batch.items.to(self.device), batch.lengths.to(self.device))

    def rec(self, h: Tensor, targets: Tensor) -> Tensor:
        return rec_loss(h, self.model.item_weights(), targets)

    def encoder_step(self, loss: Tensor) -> None:
        """One optimizer step of the encoder, gradients summed over processes."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        sum_gradients(self.model.parameters())
        self.optimizer.step()

    @abstractmethod
    def step(self, samples: np.ndarray) -> dict[str, float]:
        """Train on the training samples ``samples``; return the losses to log."""

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
