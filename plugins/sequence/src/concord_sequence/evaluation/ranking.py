"""Scoring every user's held-out item against all items (or sampled negatives)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from concord_sequence.data.split import LeaveOneOut
from concord_sequence.evaluation.metrics import KS, metrics_from_ranks, target_ranks

__all__ = ["evaluate", "split_ranks"]


@torch.no_grad()
def split_ranks(model: nn.Module, data: LeaveOneOut, split: Literal["valid", "test"], *,
                exclude_history: bool = True, batch_size: int = 1024,
                negatives: np.ndarray | None = None, users: np.ndarray | None = None) -> torch.Tensor:
    """The rank of every user's ``split`` target (see :mod:`.metrics` for the tie rule).

    Full ranking (default): the candidates are all items ``1..n_items``; with
    ``exclude_history`` the items of the user's input (everything before the target) are removed
    from the candidates, except the target itself when the user had it before. Sampled ranking:
    the candidates are the target and ``negatives[u]`` (drawn from items the user never had).
    The inputs go to the device of the model's parameters; the model is put in eval mode (no
    dropout) and restored afterwards.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    all_users, all_pos = data.eval_samples(split)
    if users is not None:
        all_users, all_pos = all_users[users], all_pos[users]
    ranks = []
    try:
        for b0 in range(0, len(all_users), batch_size):
            u, p = all_users[b0 : b0 + batch_size], all_pos[b0 : b0 + batch_size]
            items, lengths = data.inputs(u, p)
            h = model(items.to(device), lengths.to(device))
            scores = model.scores(h).float()  # column j = item j + 1
            target = data.targets(u, p).to(scores.device)
            if negatives is not None:
                cand = torch.cat([target[:, None], torch.from_numpy(negatives[u]).to(scores.device)], dim=1)
                sub = scores.gather(1, cand - 1)
                ranks.append(target_ranks(sub, torch.zeros(len(u), dtype=torch.long, device=scores.device)))
                continue
            if exclude_history:
                rows = torch.from_numpy(np.repeat(np.arange(len(u)), p)).to(scores.device)
                cols = np.concatenate([data.history(int(uu), int(pp)) for uu, pp in zip(u, p)]) - 1
                t = scores.gather(1, (target - 1)[:, None])
                scores[rows, torch.from_numpy(cols).to(scores.device)] = float("-inf")
                scores.scatter_(1, (target - 1)[:, None], t)
            ranks.append(target_ranks(scores, target - 1))
    finally:
        model.train(was_training)
    return torch.cat(ranks)


def evaluate(model: nn.Module, data: LeaveOneOut, split: Literal["valid", "test"], *,
             exclude_history: bool = True, batch_size: int = 1024,
             negatives: np.ndarray | None = None, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """HR@k, NDCG@k, MRR@k and MRR of ``split`` (see :func:`split_ranks`)."""
    ranks = split_ranks(model, data, split, exclude_history=exclude_history, batch_size=batch_size,
                        negatives=negatives)
    return metrics_from_ranks(ranks, ks)
