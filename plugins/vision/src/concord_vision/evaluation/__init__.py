"""Segmentation metrics with every number the report needs."""

from concord_vision.evaluation.per_class_iou import PerClassIoUMetric

__all__ = ["PerClassIoUMetric"]
