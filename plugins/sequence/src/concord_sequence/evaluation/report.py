"""The report of a run: the test metrics of the selected model, computed the same way by
``concord sequence train`` (at its end) and ``concord sequence evaluate`` (from the saved model)."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from concord_sequence.data.split import LeaveOneOut
from concord_sequence.evaluation.ranking import evaluate

__all__ = ["REPORT_KEYS", "test_report"]

REPORT_KEYS = ("test_hr@5", "test_hr@10", "test_hr@20", "test_ndcg@5", "test_ndcg@10", "test_ndcg@20",
               "test_mrr", "best_epoch")


def test_report(model: nn.Module, data: LeaveOneOut, *, exclude_history: bool, batch_size: int,
                negatives: np.ndarray | None, best_epoch: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``report.json`` (exactly :data:`REPORT_KEYS`) and the details for ``run_summary.json``: the
    test metrics, and -- with full ranking -- those under the other history convention (for
    comparison with RecBole's sequential full ranking, which keeps the user's earlier items among
    the candidates, and the papers built on it)."""
    test = evaluate(model, data, "test", exclude_history=exclude_history, batch_size=batch_size,
                    negatives=negatives)
    other = None if negatives is not None else evaluate(model, data, "test", exclude_history=not exclude_history,
                                                        batch_size=batch_size)
    report: dict[str, Any] = {f"test_{k}": test[k] for k in ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10",
                                                              "ndcg@20", "mrr")}
    report["best_epoch"] = best_epoch
    return report, {"test": test, f"test_exclude_history_{not exclude_history}": other}
