"""The demo's headline: a linear probe trained on a few labels per class.

With every label the digits are easy for any features (raw pixels reach ~0.93, as does the
pretrained encoder); what contrastive pretraining buys is features in which *few* labels suffice.
For ``k`` labels per class, ``draws`` times: draw ``k`` labelled images of each class from the
training split (the same images for every feature set, so the comparison is paired), fit a
logistic regression on the standardised features of those ``10 k`` images, and score it on the
whole test split. Each feature is standardised with the mean and standard deviation over the
whole training split's images -- statistics of unlabelled data, the same for every probe of a
feature set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["few_label_accuracy", "few_label_table", "linear_probe", "plot_few_labels"]


def linear_probe(train_x: Any, train_y: Any, test_x: Any, test_y: Any, *, unlabelled: Any) -> float:
    """Test accuracy of scikit-learn's ``LogisticRegression`` (default ``C = 1``) on features
    standardised with the statistics of ``unlabelled`` (the training split's features)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(unlabelled)
    clf = LogisticRegression(max_iter=3000)
    clf.fit(scaler.transform(train_x), train_y)
    return float(clf.score(scaler.transform(test_x), test_y))


def few_label_accuracy(
    features: Mapping[str, np.ndarray],
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    labels_per_class: Sequence[int],
    draws: int,
    seed: int,
) -> dict[int, dict[str, list[float]]]:
    """``{k: {feature name: [accuracy of each draw]}}``."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    out: dict[int, dict[str, list[float]]] = {}
    for k in labels_per_class:
        out[k] = {name: [] for name in features}
        for _ in range(draws):
            picked = np.concatenate([rng.choice(train_idx[y[train_idx] == c], k, replace=False) for c in classes])
            for name, f in features.items():
                out[k][name].append(linear_probe(f[picked], y[picked], f[test_idx], y[test_idx],
                                                 unlabelled=f[train_idx]))
    return out


def few_label_table(acc: Mapping[int, Mapping[str, Sequence[float]]]) -> str:
    """The accuracies as a text table: one row per ``k``, ``mean ± sd`` over the draws."""
    names = list(next(iter(acc.values())))
    head = f"{'labels / class':>14}  " + "  ".join(f"{n:>15}" for n in names)
    rows = [head]
    for k, by_name in acc.items():
        cells = [f"{np.mean(v):.3f} ± {np.std(v):.3f}" for v in by_name.values()]
        rows.append(f"{k:>14}  " + "  ".join(f"{c:>15}" for c in cells))
    return "\n".join(rows)


def plot_few_labels(acc: Mapping[int, Mapping[str, Sequence[float]]], out: str | Path, *, title: str) -> None:
    """Accuracy against labels per class, one line per feature set, ``±`` one sd as error bars."""
    from concord.run.plots import plot_series

    ks = list(acc)
    names = list(next(iter(acc.values())))
    series = {n: (ks, [float(np.mean(acc[k][n])) for k in ks], [float(np.std(acc[k][n])) for k in ks])
              for n in names}
    plot_series(series, out, xlabel="labelled images per class", ylabel="test accuracy", title=title,
                log_x=True)
