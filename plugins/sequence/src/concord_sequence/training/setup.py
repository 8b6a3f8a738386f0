"""What a run builds from its config before training or evaluating: the data and the model."""

from __future__ import annotations

from concord_sequence.data.loading import Loaded, load_dataset
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig

__all__ = ["build_model", "load_data"]


def load_data(cfg: SequenceConfig) -> Loaded:
    """The split and summary of the data set ``cfg.data`` names."""
    d = cfg.data
    return load_dataset(root=d.root, name=d.name, path=d.path, max_len=d.max_len, min_user_inter=d.min_user_inter,
                        min_item_inter=d.min_item_inter, short_users=d.short_users)


def build_model(cfg: SequenceConfig, n_items: int) -> SASRec:
    """The SASRec encoder of ``cfg.model`` for ``n_items`` items (on the CPU)."""
    m = cfg.model
    return SASRec(n_items, max_len=cfg.data.max_len, hidden=m.hidden, layers=m.layers, heads=m.heads,
                  inner=m.inner, hidden_dropout=m.hidden_dropout, attn_dropout=m.attn_dropout,
                  layer_norm_eps=m.layer_norm_eps, init_std=m.init_std, length_buckets=m.length_buckets)
