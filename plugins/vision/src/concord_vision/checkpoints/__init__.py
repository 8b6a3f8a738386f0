"""Checkpoints that load without pickled classes, and the backbone export for fine-tuning."""

from concord_vision.checkpoints.backbone_export import export_backbone, load_weights
from concord_vision.checkpoints.plain_checkpoint_hook import PlainCheckpointHook

__all__ = ["PlainCheckpointHook", "export_backbone", "load_weights"]
