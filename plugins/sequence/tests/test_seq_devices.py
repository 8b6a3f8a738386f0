"""Every tensor the plugin allocates follows its inputs' device (issue 12 §3), checked without a
GPU by :func:`concord.testing.devices.check_follows_inputs` (the code runs once plainly and once
with ``meta`` as the default device and must return exactly the same values on the same
devices); and the evaluation sends its batches to the model's device."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from concord.registry import Registry
from concord.testing.devices import check_augmentation_follows_inputs, check_follows_inputs
from concord_sequence.augment import Crop, Mask, PairViews, Reorder
from concord_sequence.data import leave_one_out, reindex
from concord_sequence.data.batch import SequenceBatch
from concord_sequence.data.same_target import SameTargetSampler
from concord_sequence.data.synthetic import markov_chain_log
from concord_sequence.evaluation import draw_negatives
from concord_sequence.evaluation.ranking import split_ranks
from concord_sequence.models import SASRec


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", [c.name for c in Registry().components("augmentations")
                                  if c.name.startswith("sequence.")])
def test_augmentations_allocate_on_the_batchs_device(name):
    check_augmentation_follows_inputs(Registry().load("augmentations", name))


def test_pair_views_and_same_target_partners_draw_on_the_cpu():
    batch = SequenceBatch.from_lists([[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12]], width=6)
    views = PairViews([Crop(eta=0.6), Mask(gamma=0.5, mask_token=13), Reorder(beta=0.6)])
    check_follows_inputs(lambda: views(batch, _gen(1)), "PairViews")
    one = PairViews([Crop(eta=0.6)])
    check_follows_inputs(lambda: one(batch, _gen(1)), "PairViews (one augmentation)")
    split = leave_one_out(reindex(markov_chain_log(n_users=30, n_items=10, seed=0)).data, max_len=6)
    sampler = SameTargetSampler(split)
    check_follows_inputs(lambda: sampler.sample(np.arange(20), _gen(2)), "SameTargetSampler")


def test_sasrec_and_evaluation_follow_the_inputs():
    split = leave_one_out(reindex(markov_chain_log(n_users=30, n_items=25, seed=0)).data, max_len=6)
    torch.manual_seed(0)
    model = SASRec(split.n_items, max_len=6, hidden=8, layers=1, heads=2).eval()
    items, lengths = split.inputs(*split.eval_samples("test"))
    check_follows_inputs(lambda: model(items, lengths).detach(), "SASRec")
    for exclude in (True, False):
        check_follows_inputs(lambda e=exclude: split_ranks(model, split, "test", exclude_history=e, batch_size=7),
                        f"split_ranks(exclude_history={exclude})")
    negatives = draw_negatives(split, 3, seed=0)
    check_follows_inputs(lambda: split_ranks(model, split, "test", negatives=negatives, batch_size=7),
                    "split_ranks(sampled negatives)")


class _Recorder(nn.Module):
    """A model whose parameter lives on another device (``meta``): it records where its inputs
    arrive and scores on the CPU, so the evaluation runs to the end."""

    def __init__(self, n_items: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, device="meta"))
        self.n_items = n_items
        self.seen: list[torch.device] = []

    def forward(self, items: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        self.seen += [items.device, lengths.device]
        return torch.zeros(items.shape[0], 1)

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        return torch.arange(self.n_items, dtype=torch.float32).repeat(h.shape[0], 1)


def test_evaluation_sends_the_inputs_to_the_models_device():
    """Catches an evaluation that feeds CPU batches to a model on another device."""
    split = leave_one_out(reindex(markov_chain_log(n_users=30, n_items=10, seed=0)).data, max_len=6)
    model = _Recorder(split.n_items)
    split_ranks(model, split, "valid", batch_size=8)
    assert model.seen and set(model.seen) == {torch.device("meta")}
