"""Ranking metrics on hand-computed cases (ties included), full ranking against a brute-force
loop, history exclusion, and sampled negatives drawn once and reused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from concord_sequence.data import leave_one_out, reindex
from concord_sequence.data.synthetic import markov_chain_log
from concord_sequence.evaluation import draw_negatives, metrics_from_ranks, target_ranks
from concord_sequence.evaluation.ranking import split_ranks
from concord_sequence.evaluation.sampled import load_or_draw_negatives
from concord_sequence.models import SASRec


def test_ranks_hand_computed_with_ties():
    scores = torch.tensor([
        [0.9, 0.5, 0.1, 0.3],   # target col 1 (0.5): one higher -> rank 2
        [0.2, 0.2, 0.2, 0.2],   # target col 0, all tied: after the 3 others -> rank 4
        [0.1, 0.7, 0.7, 0.9],   # target col 2 (0.7): 0.9 higher, 0.7 tie -> rank 3
        [1.0, float("-inf"), 0.0, 2.0],  # target col 0; -inf excluded never outranks -> rank 2
    ])
    ranks = target_ranks(scores, torch.tensor([1, 0, 2, 0]))
    assert ranks.tolist() == [2, 4, 3, 2]


def test_metrics_hand_computed():
    ranks = torch.tensor([1, 3, 7, 12, 25])
    m = metrics_from_ranks(ranks)
    assert m["hr@5"] == pytest.approx(2 / 5)
    assert m["hr@10"] == pytest.approx(3 / 5)
    assert m["hr@20"] == pytest.approx(4 / 5)
    assert m["ndcg@5"] == pytest.approx((1 / math.log2(2) + 1 / math.log2(4)) / 5)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 5)  # log2(8) = 3
    assert m["ndcg@20"] == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / math.log2(13)) / 5)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 7 + 1 / 12 + 1 / 25) / 5)
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 7) / 5)


def test_constant_scores_get_no_free_hits():
    ranks = target_ranks(torch.zeros(3, 50), torch.tensor([0, 10, 49]))
    assert ranks.tolist() == [50, 50, 50]
    assert metrics_from_ranks(ranks)["hr@20"] == 0.0


def test_nan_scores_refused():
    with pytest.raises(ValueError, match="NaN"):
        target_ranks(torch.tensor([[0.1, float("nan")]]), torch.tensor([0]))


def _setup(seed=0, n_items=15):
    split = leave_one_out(reindex(markov_chain_log(n_users=40, n_items=n_items, seed=seed)).data, max_len=6)
    torch.manual_seed(seed)
    model = SASRec(split.n_items, max_len=6, hidden=8, layers=1, heads=1)
    return split, model


@pytest.mark.parametrize("exclude", [True, False])
def test_full_ranking_matches_brute_force_loop(exclude):
    split, model = _setup()
    got = split_ranks(model, split, "test", exclude_history=exclude, batch_size=7)
    model.eval()
    users, pos = split.eval_samples("test")
    for k, (u, p) in enumerate(zip(users, pos)):
        x, length = split.inputs(np.array([u]), np.array([p]))
        with torch.no_grad():
            s = model(x, length)[0] @ model.item_embedding.weight.T  # index = item id
        target = int(split.items[split.offsets[u] + p])
        history = set(split.history(u, p).tolist()) if exclude else set()
        rank = 1
        for item in range(1, split.n_items + 1):
            if item == target or item in history:
                continue
            if s[item] >= s[target]:  # strictly higher, or a tie counted against the target
                rank += 1
        assert int(got[k]) == rank


def test_history_exclusion_removes_earlier_items_but_never_the_target():
    split, model = _setup(1)
    users, pos = split.eval_samples("valid")
    full = split_ranks(model, split, "valid", exclude_history=False)
    excl = split_ranks(model, split, "valid", exclude_history=True)
    assert bool((excl <= full).all())
    repeat = [k for k, (u, p) in enumerate(zip(users, pos))
              if split.items[split.offsets[u] + p] in set(split.history(u, p).tolist())]
    assert repeat, "the chain should produce users whose target occurred before"
    model.eval()
    for k in repeat:
        u, p = users[k], pos[k]
        x, length = split.inputs(np.array([u]), np.array([p]))
        with torch.no_grad():
            s = model(x, length)[0] @ model.item_embedding.weight.T
        target = int(split.items[split.offsets[u] + p])
        others = set(range(1, split.n_items + 1)) - set(split.history(u, p).tolist()) - {target}
        assert int(excl[k]) == 1 + sum(bool(s[i] >= s[target]) for i in others)


def test_sampled_negatives_drawn_once_from_seed_and_reused(tmp_path):
    split, model = _setup(2, n_items=40)
    a = draw_negatives(split, 5, seed=7)
    assert np.array_equal(a, draw_negatives(split, 5, seed=7))
    assert not np.array_equal(a, draw_negatives(split, 5, seed=8))
    for u in range(split.n_users):
        seen = set(split.items[split.offsets[u] : split.offsets[u + 1]].tolist())
        assert not seen & set(a[u].tolist()) and len(set(a[u].tolist())) == 5
    path = tmp_path / "sampled_negatives.npy"
    first = load_or_draw_negatives(path, split, 5, seed=7)
    assert path.exists()
    again = load_or_draw_negatives(path, split, 5, seed=999)  # the saved file wins
    assert np.array_equal(first, again)
    r = split_ranks(model, split, "test", negatives=a)
    assert int(r.max()) <= 6
    with pytest.raises(ValueError, match="fewer than"):
        draw_negatives(split, split.n_items, seed=0)
