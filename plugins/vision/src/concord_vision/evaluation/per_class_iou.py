"""mmseg's IoU metric, returning the per-class IoU too."""

from __future__ import annotations

import numpy as np
from mmseg.evaluation import IoUMetric

__all__ = ["PerClassIoUMetric"]


class PerClassIoUMetric(IoUMetric):
    r"""mmseg's :class:`~mmseg.evaluation.IoUMetric` (``aAcc``, ``mIoU``, ``mAcc`` in percent, from
    the intersections and unions summed over the whole split), plus ``IoU.<class>`` for every
    class -- mmseg only prints those in a table:

    .. math::
        \mathrm{IoU}_c = \frac{|P_c \cap G_c|}{|P_c \cup G_c|}, \qquad
        \mathrm{mIoU} = \frac{1}{C} \sum_c \mathrm{IoU}_c, \qquad
        \mathrm{aAcc} = \frac{\sum_c |P_c \cap G_c|}{\sum_c |G_c|}

    over pixels whose label is not ``ignore_index``. A class absent from both prediction and
    ground truth has an undefined IoU (NaN, left out of mmseg's mean, reported as ``nan``).
    Values are Python floats rounded to 0.01 (mmseg's are float32).
    """

    def compute_metrics(self, results: list) -> dict[str, float]:
        metrics = {k: round(float(v), 2) for k, v in super().compute_metrics(results).items()}
        intersect = sum(r[0].double() for r in results).numpy()
        union = sum(r[1].double() for r in results).numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = intersect / union
        for name, value in zip(self.dataset_meta["classes"], iou):
            metrics[f"IoU.{name}"] = float(np.round(value * 100, 2))
        return metrics
