"""Linear probes on frozen, L2-normalised embeddings with scikit-learn's ``LogisticRegression``.

The probe never sees the test nodes while choosing its regularisation ``C``: by stratified
k-fold cross-validation on the train part (protocol ``grace``, as GRACE's ``eval.py``:
``C`` in :math:`2^{-10}, \\ldots, 2^{9}`) or by validation accuracy (``public``,
``random_10_10_80`` and the heterogeneous splits). GRACE's own probe is a one-vs-rest liblinear
model; this one is a multinomial lbfgs model (scikit-learn's default), which is well defined for
any number of classes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from concord.errors import InputError
from concord_graph.evaluate.splits import Split, as_numpy

__all__ = ["C_GRID", "HeteroScores", "ProbeResult", "hetero_probe", "node_probe"]

C_GRID: tuple[float, ...] = tuple(float(c) for c in 2.0 ** np.arange(-10, 10))


@dataclass(frozen=True)
class ProbeResult:
    test_acc: float
    C: float
    n_train: int
    n_val: int
    n_test: int


@dataclass(frozen=True)
class HeteroScores:
    macro_f1: float
    micro_f1: float
    auc: float
    C: float


def _normalize(x: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import normalize

    return normalize(x, norm="l2")


def _model(c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000)


def _fit(c: float, x: np.ndarray, y: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs convergence notes at extreme C
        return _model(c).fit(x, y)


def _select_by_val(x: np.ndarray, y: np.ndarray, split: Split, score) -> tuple[float, object]:
    """Fit along the C grid (ascending, each fit warm-started from the last), pick the C with the
    best validation score (the first one on ties) and refit at that C from scratch."""
    assert split.val is not None
    model = _model(C_GRID[0])
    model.set_params(warm_start=True)
    best_c, best_s = C_GRID[0], -np.inf
    for c in C_GRID:
        model.set_params(C=c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs convergence notes at extreme C
            model.fit(x[split.train], y[split.train])
        s = score(model, x[split.val], y[split.val])
        if s > best_s:
            best_c, best_s = c, s
    return best_c, _fit(best_c, x[split.train], y[split.train])


def _select_by_cv(x: np.ndarray, y: np.ndarray, train: np.ndarray, seed: int) -> float:
    """C with the best mean accuracy over stratified folds of the train part
    (``LogisticRegressionCV``: the grid is fitted as a warm-started path per fold)."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y[train])
    folds = int(min(5, counts[counts > 0].min()))
    if folds < 2:
        return 1.0  # a class with a single training node: no fold can hold it out
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = LogisticRegressionCV(Cs=list(C_GRID), cv=cv, max_iter=2000).fit(x[train], y[train])
    return float(np.atleast_1d(search.C_)[0])


def _threads():
    """scikit-learn's BLAS / OpenMP pools limited to torch's thread count (the run's budget)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=torch.get_num_threads())


def node_probe(embeddings: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, split: Split,
               *, seed: int = 0) -> ProbeResult:
    """Test accuracy of a probe trained on ``split.train`` (C by CV, or on ``split.val``)."""
    with _threads():
        return _node_probe(embeddings, labels, split, seed)


def _node_probe(embeddings, labels, split: Split, seed: int) -> ProbeResult:
    x = _normalize(as_numpy(embeddings).astype(np.float64))
    y = as_numpy(labels).astype(np.int64)
    if split.val is None:
        c = _select_by_cv(x, y, split.train, seed)
        model = _fit(c, x[split.train], y[split.train])
    else:
        c, model = _select_by_val(x, y, split, lambda m, a, b: m.score(a, b))
    acc = float(model.score(x[split.test], y[split.test]))
    n_val = 0 if split.val is None else len(split.val)
    return ProbeResult(acc, c, len(split.train), n_val, len(split.test))


def hetero_probe(embeddings: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray, split: Split) -> HeteroScores:
    """Macro-F1, Micro-F1 and one-vs-rest AUC on ``split.test`` of a probe whose C maximises
    validation Macro-F1 (the splits of HeCo / MEOW: 20, 40 or 60 labelled nodes per class)."""
    with _threads():
        return _hetero_probe(embeddings, labels, split)


def _hetero_probe(embeddings, labels, split: Split) -> HeteroScores:
    from sklearn.metrics import f1_score, roc_auc_score

    if split.val is None:
        raise InputError("the heterogeneous probe needs a validation split")
    x = _normalize(as_numpy(embeddings).astype(np.float64))
    y = as_numpy(labels).astype(np.int64)
    c, model = _select_by_val(
        x, y, split, lambda m, a, b: f1_score(b, m.predict(a), average="macro")
    )
    pred = model.predict(x[split.test])
    proba = model.predict_proba(x[split.test])
    yt = y[split.test]
    if proba.shape[1] == 2:
        auc = float(roc_auc_score(yt, proba[:, 1]))
    else:
        auc = float(roc_auc_score(yt, proba, multi_class="ovr", labels=model.classes_))
    return HeteroScores(
        macro_f1=float(f1_score(yt, pred, average="macro")),
        micro_f1=float(f1_score(yt, pred, average="micro")),
        auc=auc,
        C=c,
    )
