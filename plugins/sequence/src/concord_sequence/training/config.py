"""The run configuration of ``concord sequence train`` (YAML + ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from concord.validation import check_positive

__all__ = ["SequenceConfig"]


def _default_augmentations() -> list[dict[str, Any]]:
    # CL4SRec's three operations with DuoRec's CL4SRec ratios
    return [{"name": "sequence.crop", "eta": 0.6}, {"name": "sequence.mask", "gamma": 0.3},
            {"name": "sequence.reorder", "beta": 0.6}]


@dataclass
class DataConfig:
    root: str = "data"
    name: str = "beauty"
    path: str | None = None
    max_len: int = 50
    min_user_inter: int = 0
    min_item_inter: int = 0
    short_users: Literal["error", "drop"] = "error"

    def __post_init__(self) -> None:
        if isinstance(self.max_len, bool) or self.max_len < 1:
            raise ValueError(f"max_len must be >= 1, got {self.max_len} (a model needs at least one input item)")
        if self.min_user_inter < 0 or self.min_item_inter < 0:
            raise ValueError("min_user_inter and min_item_inter must be >= 0")


@dataclass
class ModelConfig:
    hidden: int = 64
    layers: int = 2
    heads: int = 2
    inner: int = 256
    hidden_dropout: float = 0.5
    attn_dropout: float = 0.5
    layer_norm_eps: float = 1e-12
    init_std: float = 0.02
    length_buckets: bool = True


@dataclass
class MethodConfig:
    """``name`` picks the objective; the other keys are read by the methods that use them."""

    name: Literal["sasrec", "cl4srec", "duorec", "mclrec"] = "sasrec"
    cl_weight: float = 0.1  # lambda of CL4SRec / DuoRec
    temperature: float = 1.0
    similarity: Literal["dot", "cos"] = "dot"
    augmentations: list[dict[str, Any]] = field(default_factory=_default_augmentations)
    duorec_positives: Literal["pair", "same_target"] = "pair"
    lmd: float = 0.0  # MCLRec lambda
    beta: float = 0.01  # MCLRec beta
    reg_weight: float = 0.1  # MCLRec weight of R
    meta_update: Literal["first_order", "bilevel"] = "first_order"
    meta_step: float = 1e-3  # bilevel: step size of the unrolled (virtual) encoder step
    similar_items_top_k: int = 10

    def __post_init__(self) -> None:
        check_positive("temperature", self.temperature)
        for name in ("cl_weight", "lmd", "beta", "reg_weight"):
            check_positive(name, getattr(self, name), allow_zero=True)
        for i, aug in enumerate(self.augmentations):
            if not isinstance(aug, dict) or "name" not in aug:
                raise ValueError(f"augmentations[{i}] must be a mapping with a 'name', got {aug!r}")


@dataclass
class TrainConfig:
    epochs: int = 50
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    threads: int | None = None
    max_batches: int | None = None  # cut each epoch short (smoke tests, benchmarks)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (in-batch negatives), got {self.batch_size}")
        check_positive("lr", self.lr)
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0, got {self.patience}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or null, got {self.threads}")


@dataclass
class EvalConfig:
    exclude_history: bool = True
    metric: Literal["ndcg@10", "mrr@10"] = "ndcg@10"
    batch_size: int = 1024
    sampled_negatives: int | None = None


@dataclass
class SequenceConfig:
    seed: int = 2020
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
