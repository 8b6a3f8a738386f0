"""The run configuration of ``concord sequence train`` (YAML + ``--set key=value``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from concord.devices import check_device
from concord.errors import ConfigError
from concord.run.components import component_field, validate_component
from concord.run.data_root import default_data_root
from concord.run.threads import check_threads
from concord.validation import check_positive
from concord_sequence.evaluation.metrics import KS

__all__ = ["FIXED_LOSS", "METHOD_LOSSES", "SELECTABLE", "SequenceConfig", "resolve_loss"]


def _default_augmentations() -> list[dict[str, Any]]:
    # CL4SRec's three operations with DuoRec's CL4SRec ratios
    return [{"name": "sequence.crop", "eta": 0.6}, {"name": "sequence.mask", "gamma": 0.3},
            {"name": "sequence.reorder", "beta": 0.6}]


@dataclass
class DataConfig:
    #: the folder holding the data sets (default: ``$CONCORD_DATA``, else ``data`` under the
    #: working directory); ``beauty`` is ``<root>/seqrec/beauty.txt``
    root: str = field(default_factory=default_data_root)
    name: str = "beauty"
    path: str | None = None
    max_len: int = 50
    min_user_inter: int = 0
    min_item_inter: int = 0
    short_users: Literal["error", "drop"] = "error"

    def __post_init__(self) -> None:
        if isinstance(self.max_len, bool) or self.max_len < 1:
            raise ConfigError(f"max_len must be >= 1, got {self.max_len} (a model needs at least one input item)")
        if self.min_user_inter < 0 or self.min_item_inter < 0:
            raise ConfigError("min_user_inter and min_item_inter must be >= 0")


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
    """``name`` picks the objective; the other keys are read by the methods that use them. The
    contrastive term itself is the top-level ``loss`` section."""

    name: Literal["sasrec", "cl4srec", "duorec", "mclrec"] = "sasrec"
    cl_weight: float = 0.1  # lambda of CL4SRec / DuoRec
    #: the views of CL4SRec / MCLRec: registered augmentations, two distinct ones drawn per sequence
    augmentations: list[dict[str, Any]] = component_field("augmentations", _default_augmentations(), many=True)
    meta_update: Literal["first_order", "bilevel"] = "first_order"
    meta_step: float = 1e-3  # bilevel: step size of the unrolled (virtual) encoder step
    similar_items_top_k: int = 10

    def __post_init__(self) -> None:
        check_positive("cl_weight", self.cl_weight, allow_zero=True)


#: Each method's contrastive term as its paper defines it (``loss`` when the config gives none).
METHOD_LOSSES: dict[str, dict[str, Any] | None] = {
    "sasrec": None,
    "cl4srec": {"name": "sequence.cl4srec", "temperature": 1.0, "similarity": "dot"},
    "duorec": {"name": "sequence.duorec", "temperature": 1.0, "similarity": "dot", "positives": "pair"},
    # lambda = 0 and beta = 0.05: the authors' Beauty script (scripts/train_beauty.sh passes
    # --lmd=0. --beta=0.05, overriding MCLRec.yaml's beta 0.01); their other data sets use other
    # values (Sports 0.04 / 0.4, Yelp 0.03 / 0.1, ML-1M 0 / 0.01)
    "mclrec": {"name": "sequence.mclrec", "lmd": 0.0, "beta": 0.05, "reg_weight": 0.1, "temperature": 1.0,
               "similarity": "dot"},
}

#: Why a method takes no other loss than its own.
FIXED_LOSS = {
    "mclrec": "MCLRec's meta-update (the augmenters' objective lambda * L_cl + L_mcl and its "
              "alternation with the encoder's) is derived for its own loss",
}


def resolve_loss(method: str, loss: dict[str, Any] | None) -> dict[str, Any] | None:
    """The validated loss spec of ``method``: the config's ``loss`` (options without a ``name``
    refine the method's own loss) or the method's paper loss."""
    default = METHOD_LOSSES[method]
    if default is None:
        if loss is not None:
            raise ConfigError(
                "loss: method sasrec trains on L_rec alone and has no contrastive term to set; "
                "use method.name=cl4srec or duorec to train with a contrastive loss"
            )
        return None
    spec = dict(default) if loss is None else ({**default, **loss} if "name" not in loss else dict(loss))
    return validate_component("losses", spec, where="loss", default_name=default["name"],
                              provided=("gather",), fixed_by=FIXED_LOSS.get(method))


@dataclass
class TrainConfig:
    epochs: int = 50
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    threads: int | None = None
    max_batches: int | None = None  # cut each epoch short (smoke tests, benchmarks)
    #: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (:mod:`concord.devices`)
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ConfigError(f"epochs must be >= 0, got {self.epochs}")
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 (in-batch negatives), got {self.batch_size}")
        check_positive("lr", self.lr)
        if self.patience < 0:
            raise ConfigError(f"patience must be >= 0, got {self.patience}")
        check_threads("train.threads", self.threads)
        check_device("train.device", self.device)


#: The validation metrics ``eval.select_by`` may name.
SELECTABLE: tuple[str, ...] = (*(f"{m}@{k}" for m in ("hr", "ndcg", "mrr") for k in KS), "mrr")


@dataclass
class EvalConfig:
    #: the candidates of the reported metrics: the user's earlier items removed (``true``) or
    #: kept (``false``: RecBole's sequential full ranking, used by the RecBole-based papers)
    exclude_history: bool = True
    #: the validation metric that picks the best epoch (whose test metrics are reported) and
    #: drives early stopping: ``hr@k``, ``ndcg@k``, ``mrr@k`` (k = 5, 10, 20) or ``mrr``
    select_by: str = "ndcg@10"
    #: the candidates of that validation metric (``null``: as ``exclude_history``); the
    #: RecBole-based papers (DuoRec, MCLRec) select by MRR@10 with the history kept
    #: (``select_by: mrr@10``, ``select_exclude_history: false``)
    select_exclude_history: bool | None = None
    batch_size: int = 1024
    sampled_negatives: int | None = None

    def __post_init__(self) -> None:
        if self.select_by not in SELECTABLE:
            raise ConfigError(f"select_by must be one of {', '.join(SELECTABLE)}, got {self.select_by!r}")
        if self.sampled_negatives is not None and self.select_exclude_history is not None:
            raise ConfigError(
                "select_exclude_history has no meaning with sampled_negatives (sampled negatives are "
                "never items of the user's history); leave it null"
            )

    @property
    def selection_excludes_history(self) -> bool:
        """The history convention of the selection metric."""
        return self.exclude_history if self.select_exclude_history is None else self.select_exclude_history


@dataclass
class SequenceConfig:
    seed: int = 2020
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    #: the method's contrastive term: any registered ``concord.losses`` entry point, ``name``
    #: plus its options (default: the method's own, see ``METHOD_LOSSES``; CL4SRec / DuoRec call
    #: it as ``loss(z1, z2)``, passing ``targets`` too when its forward takes them)
    loss: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.loss = resolve_loss(self.method.name, self.loss)
