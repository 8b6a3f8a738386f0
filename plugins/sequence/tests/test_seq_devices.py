"""Every tensor the plugin allocates follows its inputs' device (issue 12 §3).

Without a GPU a second device is simulated: the inputs are built on the CPU, then the code runs
inside ``with torch.device("meta")``, which makes ``meta`` the default device of every factory
call that names none. Code that follows its inputs, or draws on the CPU generator and moves the
draw, returns the values computed outside the block; code that allocates on the default device
mixes meta and CPU tensors and fails or returns meta tensors -- as it would next to CUDA inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from concord.registry import Registry
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


def _same(got, want, where: str) -> None:
    if isinstance(want, SequenceBatch):
        _same(got.items, want.items, f"{where}.items")
        _same(got.lengths, want.lengths, f"{where}.lengths")
    elif isinstance(want, (list, tuple)):
        for i, (a, b) in enumerate(zip(got, want)):
            _same(a, b, f"{where}[{i}]")
    elif isinstance(want, torch.Tensor):
        assert got.device == want.device, f"{where}: on {got.device}, the input was on {want.device}"
        torch.testing.assert_close(got, want, msg=where)
    else:
        np.testing.assert_array_equal(got, want)


def _follows_inputs(fn, where: str) -> None:
    want = fn()
    with torch.device("meta"):
        got = fn()
    _same(got, want, where)


def _augmentations():
    reg = Registry()
    out = []
    for info in reg.components("augmentations"):
        if info.name.startswith("sequence."):
            cls = reg.load("augmentations", info.name)
            for i, ex in enumerate(cls.examples(_gen(0))):
                out.append(pytest.param(cls, ex, id=f"{info.name}[{i}]"))
    return out


@pytest.mark.parametrize("cls, example", _augmentations())
def test_augmentations_allocate_on_the_batchs_device(cls, example):
    aug = cls(**example.init)
    _follows_inputs(lambda: aug(example.input, generator=_gen(3)), cls.registry_name)


def test_pair_views_and_same_target_partners_draw_on_the_cpu():
    batch = SequenceBatch.from_lists([[1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12]], width=6)
    views = PairViews([Crop(eta=0.6), Mask(gamma=0.5, mask_token=13), Reorder(beta=0.6)])
    _follows_inputs(lambda: views(batch, _gen(1)), "PairViews")
    one = PairViews([Crop(eta=0.6)])
    _follows_inputs(lambda: one(batch, _gen(1)), "PairViews (one augmentation)")
    split = leave_one_out(reindex(markov_chain_log(n_users=30, n_items=10, seed=0)).data, max_len=6)
    sampler = SameTargetSampler(split)
    _follows_inputs(lambda: sampler.sample(np.arange(20), _gen(2)), "SameTargetSampler")


def test_sasrec_and_evaluation_follow_the_inputs():
    split = leave_one_out(reindex(markov_chain_log(n_users=30, n_items=25, seed=0)).data, max_len=6)
    torch.manual_seed(0)
    model = SASRec(split.n_items, max_len=6, hidden=8, layers=1, heads=2).eval()
    items, lengths = split.inputs(*split.eval_samples("test"))
    _follows_inputs(lambda: model(items, lengths).detach(), "SASRec")
    for exclude in (True, False):
        _follows_inputs(lambda e=exclude: split_ranks(model, split, "test", exclude_history=e, batch_size=7),
                        f"split_ranks(exclude_history={exclude})")
    negatives = draw_negatives(split, 3, seed=0)
    _follows_inputs(lambda: split_ranks(model, split, "test", negatives=negatives, batch_size=7),
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
