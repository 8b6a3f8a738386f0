"""Evaluation protocols: exact split sizes, probes checked against scikit-learn used directly,
k-means scores on known clusterings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from concord_graph.evaluate import (
    PROTOCOLS,
    hetero_probe,
    kmeans_scores,
    node_probe,
    protocol_split,
)
from concord_graph.evaluate.splits import Split


def _check_partition(split: Split, n: int) -> None:
    parts = [split.train, split.test] + ([split.val] if split.val is not None else [])
    together = np.concatenate(parts)
    assert len(together) == len(set(together.tolist())) == n, "disjoint and covering every node"


@pytest.mark.parametrize("n", [2708, 19717, 101, 10])
def test_grace_protocol_is_10_90(n):
    s = protocol_split("grace", n, seed=3)
    assert (len(s.train), s.val, len(s.test)) == (n // 10, None, n - n // 10)
    _check_partition(s, n)


@pytest.mark.parametrize("n", [2708, 19717, 101, 10])
def test_random_10_10_80_is_really_10_10_80(n):
    s = protocol_split("random_10_10_80", n, seed=3)
    assert (len(s.train), len(s.val), len(s.test)) == (n // 10, n // 10, n - 2 * (n // 10))
    assert len(s.test) >= 0.8 * n - 1  # PyGCL's split of this name gives validation the 80%
    _check_partition(s, n)


def test_public_protocol_reads_the_masks():
    n = 2708
    mask = lambda idx: torch.zeros(n, dtype=torch.bool).index_fill_(0, torch.tensor(idx), True)  # noqa: E731
    data = Data(num_nodes=n, train_mask=mask(range(140)), val_mask=mask(range(140, 640)),
                test_mask=mask(range(1708, 2708)))
    s = protocol_split("public", n, seed=0, data=data)
    assert (len(s.train), len(s.val), len(s.test)) == (140, 500, 1000)
    with pytest.raises(ValueError, match="train_mask"):
        protocol_split("public", n, seed=0, data=Data(num_nodes=n))


def test_splits_depend_on_the_seed_only():
    a, b = protocol_split("grace", 500, seed=1), protocol_split("grace", 500, seed=1)
    assert np.array_equal(a.train, b.train)
    assert not np.array_equal(a.train, protocol_split("grace", 500, seed=2).train)


def test_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="unknown evaluation protocol 'pygcl'"):
        protocol_split("pygcl", 100, seed=0)
    assert PROTOCOLS == ("grace", "public", "random_10_10_80")


def _blobs(n: int, classes: int, seed: int, spread: float = 0.6):
    g = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = g.normal(size=(classes, 8)) * 3
    return centres[y] + spread * g.normal(size=(n, 8)), y


def test_node_probe_matches_sklearn_at_the_chosen_c():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    x, y = _blobs(300, 3, 0, spread=2.5)
    s = protocol_split("random_10_10_80", 300, seed=0)
    res = node_probe(x, y, s)
    direct = LogisticRegression(C=res.C, max_iter=2000).fit(normalize(x)[s.train], y[s.train])
    assert abs(res.test_acc - direct.score(normalize(x)[s.test], y[s.test])) < 1e-9
    assert (res.n_train, res.n_val, res.n_test) == (30, 30, 240)
    easy = node_probe(*_blobs(300, 3, 1), protocol_split("grace", 300, seed=1))
    assert easy.test_acc > 0.95


def test_hetero_probe_scores_match_sklearn_metrics():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.preprocessing import normalize

    x, y = _blobs(240, 3, 4, spread=2.0)
    perm = np.random.default_rng(0).permutation(240)
    s = Split(perm[:30], perm[30:120], perm[120:])
    got = hetero_probe(x, y, s)
    xn = normalize(x)
    m = LogisticRegression(C=got.C, max_iter=2000).fit(xn[s.train], y[s.train])
    pred = m.predict(xn[s.test])
    assert abs(got.macro_f1 - f1_score(y[s.test], pred, average="macro")) < 1e-9
    assert abs(got.micro_f1 - f1_score(y[s.test], pred, average="micro")) < 1e-9
    assert abs(got.auc - roc_auc_score(y[s.test], m.predict_proba(xn[s.test]), multi_class="ovr")) < 1e-9


def test_kmeans_scores_on_perfect_and_random_embeddings():
    x, y = _blobs(150, 3, 2, spread=0.05)
    nmi, ari = kmeans_scores(x, y, runs=3)
    assert nmi > 0.99 and ari > 0.99
    noise = np.random.default_rng(0).normal(size=(150, 8))
    nmi, ari = kmeans_scores(noise, y, runs=3)
    assert nmi < 0.2 and ari < 0.2
