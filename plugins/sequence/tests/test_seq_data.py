"""Readers, k-core, re-indexing, summary and the leave-one-out split, each checked against a
hand-computed answer or a brute-force loop."""

from __future__ import annotations

import os

import numpy as np
import pytest

from concord_sequence.data import (
    kcore_filter,
    leave_one_out,
    read_atomic_inter,
    read_user_lines,
    reindex,
    summarize,
)
from concord_sequence.data.interactions import Interactions
from concord_sequence.data.loading import load_dataset, resolve_path
from concord_sequence.data.same_target import SameTargetSampler
from concord_sequence.data.synthetic import markov_chain_log, write_user_lines


def test_user_lines_reader(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text("7 3 1 2\n\n2 5 5 9 1\n")
    d = read_user_lines(f)
    assert d.user.tolist() == [7, 7, 7, 2, 2, 2, 2]
    assert d.item.tolist() == [3, 1, 2, 5, 5, 9, 1]


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("\n\n", "only blank lines"),
        ("1 2 x 4\n", r"d.txt:1: 'x' is not an integer id"),
        ("1 2 3\n2 4 2.5\n", r"d.txt:2: '2.5' is not an integer"),
        ("1 2 3\n1 4 5\n", "appears on two lines"),
        ("1\n", "has no items"),
    ],
)
def test_user_lines_reader_refuses_bad_files(tmp_path, text, match):
    f = tmp_path / "d.txt"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_user_lines(f)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_user_lines(tmp_path / "nope.txt")


def test_atomic_inter_sorted_by_timestamp_within_user(tmp_path):
    f = tmp_path / "x.inter"
    f.write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "u1\ta\t5\t30\nu2\tb\t3\t10\nu1\tb\t4\t10\nu1\tc\t1\t20\nu2\ta\t2\t5\nu1\td\t2\t20\n"
    )
    d = read_atomic_inter(f)
    assert d.user.tolist() == ["u1"] * 4 + ["u2"] * 2
    # u1: b@10, c@20, d@20 (ties keep file order), a@30; u2: a@5, b@10
    assert d.item.tolist() == ["b", "c", "d", "a", "a", "b"]
    r = reindex(d)
    assert r.data.user.tolist() == [0, 0, 0, 0, 1, 1]
    assert r.data.item.tolist() == [1, 2, 3, 4, 4, 1]  # tokens: order of first appearance
    assert r.item_ids.tolist() == [None, "b", "c", "d", "a"]


def test_atomic_inter_errors(tmp_path):
    f = tmp_path / "x.inter"
    f.write_text("user_id\titem_id\n1\t2\n")
    with pytest.raises(ValueError, match="has no type"):
        read_atomic_inter(f)
    f.write_text("user_id:token\titem_id:token\ttimestamp:float\nu\ti\tlate\n")
    with pytest.raises(ValueError, match=r"x.inter:2: timestamp 'late' is not a number"):
        read_atomic_inter(f)
    f.write_text("user_id:token\titem_id:token\n")
    with pytest.raises(ValueError, match="no interactions"):
        read_atomic_inter(f)


def test_movielens_atomic_file_shipped_in_the_recbole_wheel():
    """Real RecBole atomic data: the ML-100K files inside the recbole 1.2.1 wheel, which the test
    set-up extracts into the environment (plugins/sequence/install.sh). RecBole is not imported."""
    import sys
    from pathlib import Path

    path = Path(sys.prefix) / "share" / "concord-sequence" / "ml-100k" / "ml-100k.inter"
    if not path.is_file():
        why = (f"{path} is missing: the MovieLens-100K files come from the test install step "
               "`bash scripts/install.sh --test` (plugins/sequence/install.sh extracts them from the "
               "recbole 1.2.1 wheel); a plain `pip install -e plugins/sequence` does not provide them")
        if os.environ.get("CI"):  # CI runs the test install step: a missing file there is a failure
            pytest.fail(why)
        pytest.skip(why)
    d = read_atomic_inter(path)
    assert len(d) == 100_000
    assert len(np.unique(d.user)) == 943 and len(np.unique(d.item)) == 1682
    import pandas as pd  # a second reading: every user's items ordered by timestamp

    raw = pd.read_csv(path, sep="\t", dtype=str)
    raw["ts"] = raw["timestamp:float"].astype(float)
    for user in ("196", "1", "943"):
        rows = raw[raw["user_id:token"] == user].sort_values("ts", kind="stable")
        ts = rows["ts"].to_numpy()
        got = d.item[d.user == user]
        assert len(got) == len(rows)
        # items sharing a timestamp may come in either order; everything else must match
        for t in np.unique(ts):
            assert sorted(got[ts == t]) == sorted(rows["item_id:token"].to_numpy()[ts == t])


def _kcore_brute(pairs, k_user, k_item):
    pairs = list(pairs)
    while True:
        cu, ci = {}, {}
        for u, i in pairs:
            cu[u] = cu.get(u, 0) + 1
            ci[i] = ci.get(i, 0) + 1
        keep = [(u, i) for u, i in pairs if cu[u] >= k_user and ci[i] >= k_item]
        if len(keep) == len(pairs):
            return keep
        pairs = keep


def test_kcore_matches_brute_force():
    rng = np.random.default_rng(1)
    user = np.repeat(np.arange(40), rng.integers(1, 9, 40))
    item = rng.integers(0, 25, len(user))
    got = kcore_filter(Interactions(user, item), min_user=3, min_item=4)
    want = _kcore_brute(zip(user.tolist(), item.tolist()), 3, 4)
    assert list(zip(got.user.tolist(), got.item.tolist())) == want
    with pytest.raises(ValueError, match="min_user"):
        kcore_filter(Interactions(user, item), min_user=-1)


def test_summary_hand_computed():
    d = Interactions(np.array([0, 0, 0, 1, 1, 1, 1, 1]), np.array([1, 2, 3, 1, 4, 5, 6, 2]))
    s = summarize(d)
    assert (s["users"], s["items"], s["interactions"]) == (2, 6, 8)
    assert s["sparsity"] == pytest.approx(1 - 8 / 12)
    assert (s["length_min"], s["length_max"], s["length_median"], s["length_mean"]) == (3, 5, 4.0, 4.0)


def test_leave_one_out_against_loops():
    log = reindex(markov_chain_log(n_users=30, n_items=12, min_len=3, max_len=12, seed=3)).data
    split = leave_one_out(log, max_len=4)
    seqs = log.sequences()
    want_train = []
    for u, s in enumerate(seqs):
        n = len(s)
        for t in range(1, n - 2):  # targets s[1..n-3]
            want_train.append((u, s[max(0, t - 4) : t].tolist(), int(s[t])))
        for split_name, t in (("valid", n - 2), ("test", n - 1)):
            users, pos = split.eval_samples(split_name)
            x, length = split.inputs(users[u : u + 1], pos[u : u + 1])
            assert x[0, : int(length[0])].tolist() == s[max(0, t - 4) : t].tolist()
            assert int(split.targets(users[u : u + 1], pos[u : u + 1])[0]) == int(s[t])
    x, length = split.inputs(split.train_user, split.train_pos)
    y = split.targets(split.train_user, split.train_pos)
    got = [(int(u), x[i, : int(length[i])].tolist(), int(y[i])) for i, u in enumerate(split.train_user)]
    assert got == want_train
    assert bool((x[np.arange(4)[None, :] >= length[:, None].numpy()] == 0).all())  # right padding


def test_validation_and_test_targets_never_in_training():
    log = reindex(markov_chain_log(n_users=50, seed=4)).data
    split = leave_one_out(log, max_len=50)
    train_rows = set((split.offsets[split.train_user] + split.train_pos).tolist())
    for name in ("valid", "test"):
        users, pos = split.eval_samples(name)
        held = split.offsets[users] + pos
        assert not train_rows & set(held.tolist())
    # the test target's position is never inside a training input
    last = split.offsets[split.train_user] + split.train_pos  # exclusive end of each input
    assert bool((last <= split.offsets[split.train_user] + split.lengths[split.train_user] - 2).all())


def test_short_users_error_or_reported_drop():
    d = reindex(Interactions(np.array([1, 1, 2, 2, 2, 3, 3, 3, 3]), np.array([1, 2, 1, 2, 3, 4, 1, 2, 3]))).data
    with pytest.raises(ValueError, match=r"1 user.* fewer than 3 items.*short_users=drop"):
        leave_one_out(d, max_len=5)
    s = leave_one_out(d, max_len=5, short_users="drop")
    assert s.dropped_users == 1 and s.n_users == 2


def test_max_len_zero_is_refused(tmp_path):
    with pytest.raises(ValueError, match="max_len"):
        leave_one_out(reindex(markov_chain_log(n_users=5)).data, max_len=0)
    f = write_user_lines(tmp_path / "m.txt", markov_chain_log(n_users=5))
    with pytest.raises(ValueError, match="max_len"):
        load_dataset(root=str(tmp_path), name="m", path=str(f), max_len=0)


def test_resolve_path(tmp_path):
    (tmp_path / "seqrec").mkdir()
    (tmp_path / "seqrec" / "beauty.txt").write_text("1 1 2 3\n")
    assert resolve_path(str(tmp_path), "beauty") == tmp_path / "seqrec" / "beauty.txt"
    with pytest.raises(FileNotFoundError, match=r"data set 'toys' not found"):
        resolve_path(str(tmp_path), "toys")
    # a missing known data set says which file is expected where, and where to obtain it
    with pytest.raises(FileNotFoundError) as err:
        resolve_path(str(tmp_path / "empty"), "beauty")
    msg = str(err.value)
    assert str(tmp_path / "empty" / "seqrec" / "beauty.txt") in msg
    assert "github.com/QinHsiu/MCLRec" in msg and "one line per user" in msg and "$CONCORD_DATA" in msg


def test_same_target_partner_has_the_same_target_and_is_another_sample():
    import torch

    split = leave_one_out(reindex(markov_chain_log(n_users=60, n_items=10, seed=5)).data, max_len=10)
    sampler = SameTargetSampler(split)
    idx = np.arange(len(split.train_user))
    partner = sampler.sample(idx, torch.Generator().manual_seed(0))
    t = sampler.targets
    assert bool((t[partner] == t[idx]).all())
    counts = np.bincount(t)
    has_other = counts[t] > 1
    assert bool((partner[has_other] != idx[has_other]).all())
    assert bool((partner[~has_other] == idx[~has_other]).all())
