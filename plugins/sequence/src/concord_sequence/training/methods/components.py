"""The components a method builds from the config: its views' augmentations and its
contrastive term, both from the registry by name."""

from __future__ import annotations

from typing import Any

from concord import distributed
from concord.augment.base import Augmentation
from concord.registry import build
from concord.run.components import build_component
from concord_sequence.data.item_similarity import item_cf_similar_items
from concord_sequence.data.split import LeaveOneOut
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig

__all__ = ["build_augmentations", "contrastive_loss"]


def build_augmentations(specs: list[dict[str, Any]], model: SASRec, data: LeaveOneOut,
                        top_k: int) -> list[Augmentation]:
    """Registered augmentations from ``{"name": ..., **options}``; ``mask_token`` and
    ``similar_items`` are filled in from the model and the training data when not given."""
    out: list[Augmentation] = []
    similar: list[list[int]] | None = None
    for spec in specs:
        name, opts = spec["name"], {k: v for k, v in spec.items() if k != "name"}
        if name == "sequence.mask":
            opts.setdefault("mask_token", model.mask_token)
        if name in ("sequence.substitute", "sequence.insert") and "similar_items" not in opts:
            if similar is None:
                similar = item_cf_similar_items(data, top_k=top_k)
            opts["similar_items"] = similar
        out.append(build("augmentations", name, **opts))
    return out


def contrastive_loss(cfg: SequenceConfig) -> Any:
    """The contrastive term ``cfg.loss`` names, built from the registry; it gathers across
    processes (``gather=True``; an identity on one process), which a loss under ``torchrun``
    must support."""
    assert cfg.loss is not None, "the method has no contrastive term"
    return build_component("losses", cfg.loss, where="loss", provided={"gather": True},
                           required=("gather",) if distributed.is_distributed() else (),
                           why={"gather": "under torchrun the contrast spans every process's batch"})
