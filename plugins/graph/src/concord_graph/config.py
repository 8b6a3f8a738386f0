"""Run configurations of ``concord graph train``: typed, strict, every field with a default.

A YAML file names its ``method``: ``grace`` / ``gca`` (node contrast, optionally with POT) read
:class:`NodeRunConfig`; ``meow`` / ``adameow`` (heterogeneous contrast) read
:class:`MeowRunConfig`. Both follow the core's conventions (top-level ``seed``, ``data.root``,
``data.name``, ``train.epochs``; checked by :func:`concord.testing.check_run_schema`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from concord.devices import check_device
from concord.errors import ConfigError
from concord.run.components import component_field
from concord.run.config import read_yaml
from concord.run.data_root import default_data_root
from concord.run.threads import check_threads
from concord.validation import check_positive, check_probability
from concord_graph.evaluate.splits import PROTOCOLS
from concord_graph.nn.gcn_encoder import ACTIVATIONS

__all__ = ["MeowRunConfig", "NodeRunConfig", "schema_for"]


@dataclass
class DataConfig:
    #: the folder holding the data sets (default: ``$CONCORD_DATA``, else ``data`` under the
    #: working directory); see the plugin README for each data set's files
    root: str = field(default_factory=default_data_root)
    name: str = "Cora"
    #: Planetoid graphs only: when the raw files are missing, let PyG's ``Planetoid`` download
    #: them into ``<root>/<Name>/raw`` (needs the network; off by default: nothing downloads)
    download: bool = False
    normalize_features: bool = True
    #: options of the generated SBM graph (``name: sbm``), see ``concord_graph.data.sbm_graph``
    generated: dict[str, Any] = field(default_factory=dict)


@dataclass
class EncoderConfig:
    out_channels: int = 128
    hidden_channels: int | None = None
    num_layers: int = 2
    activation: str = "relu"
    projection_channels: int = 128
    #: the first layer's X W as a sparse product (same result; faster for sparse features)
    sparse_input: bool = False

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"encoder.activation must be one of {list(ACTIVATIONS)}, got {self.activation!r}")
        if self.num_layers < 1 or self.out_channels < 1 or self.projection_channels < 1:
            raise ConfigError("encoder.num_layers, out_channels and projection_channels must be >= 1")


def _grace_view(edge: float, feature: float) -> list[dict[str, Any]]:
    return [{"name": "graph.drop_edges", "p": edge}, {"name": "graph.mask_features", "p": feature}]


@dataclass
class AugmentConfig:
    """Each view is a list of registered augmentations (``concord.augmentations``, any installed
    one: ``{name: ..., **options}``), applied in order (``concord.augment.Compose``)."""

    view1: list[dict[str, Any]] = component_field("augmentations", _grace_view(0.2, 0.3), many=True)
    view2: list[dict[str, Any]] = component_field("augmentations", _grace_view(0.4, 0.4), many=True)


@dataclass
class POTConfig:
    enabled: bool = False
    #: the node compactness POT trains: ``authors`` (the POT authors' score at the sampled view,
    #: 2-layer GCN; what their training computes) or ``certified`` (a lower bound for every graph
    #: within the budget, any depth); see ``concord_graph.pot``
    bound: Literal["authors", "certified"] = "authors"
    #: weight of the POT term: ``(1 - kappa) * InfoNCE + kappa * POT``
    kappa: float = 0.5
    #: edge-drop budget of each view; default: the ``p`` of each view's ``graph.drop_edges``
    budget: list[float] | None = None
    #: log both compactness scores (authors', certified), the sampled view's compactness and
    #: their correlations per epoch in metrics.jsonl; ``null``: when POT is enabled
    monitor: bool | None = None
    #: monitor every this many epochs (and at the last one): each monitored epoch also computes
    #: the bound that is not trained
    monitor_every: int = 1

    def __post_init__(self) -> None:
        if self.monitor_every < 1:
            raise ConfigError(f"pot.monitor_every must be >= 1, got {self.monitor_every}")
        if self.bound not in ("authors", "certified"):
            raise ConfigError(f"pot.bound must be 'authors' or 'certified', got {self.bound!r}")
        if not 0.0 <= self.kappa <= 1.0:
            raise ConfigError(f"pot.kappa must lie in [0, 1], got {self.kappa}")
        if self.budget is not None:
            if len(self.budget) != 2:
                raise ConfigError(f"pot.budget needs one rate per view (2), got {self.budget}")
            for b in self.budget:
                check_probability("pot.budget", b)


@dataclass
class TrainConfig:
    epochs: int = 200
    lr: float = 5e-4
    weight_decay: float = 1e-5
    #: seeds per step (global over processes); ``null``: full batch, one step per epoch
    batch_size: int | None = None
    #: radius of the mini-batch subgraphs; ``null``: the encoder's depth (exact embeddings)
    num_hops: int | None = None
    #: models trained (seeds ``seed``, ``seed + 1``, ...); the report averages over them
    repeats: int = 1
    #: CPU threads for torch and scikit-learn (``null``: torch's default); on a shared machine
    #: 1 thread avoids the spin-waiting of oversubscribed thread pools
    threads: int | None = None
    #: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (:mod:`concord.devices`)
    device: str = "auto"

    def __post_init__(self) -> None:
        check_threads("train.threads", self.threads)
        check_device("train.device", self.device)
        if self.epochs < 0 or self.repeats < 1:
            raise ConfigError("train.epochs must be >= 0 and train.repeats >= 1")
        check_positive("train.lr", self.lr)
        if self.batch_size is not None and self.batch_size < 2:
            raise ConfigError(f"train.batch_size must be >= 2 or null, got {self.batch_size}")


@dataclass
class EvalConfig:
    protocol: str = "grace"
    #: random splits per trained model (``grace`` / ``random_10_10_80``; GRACE uses 3)
    splits: int = 3
    #: 2-D projection of the embedding plot
    plot: Literal["tsne", "pca"] = "tsne"

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown evaluation protocol {self.protocol!r}; protocols: {list(PROTOCOLS)}")
        if self.splits < 1:
            raise ConfigError("eval.splits must be >= 1")


@dataclass
class NodeRunConfig:
    seed: int = 0
    method: Literal["grace", "gca"] = "grace"
    data: DataConfig = field(default_factory=DataConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    #: the two-view loss on the projections: any registered ``concord.losses`` entry point
    #: called as ``loss(u, v)``; its other keys are the loss's options (GRACE: NT-Xent, tau 0.4)
    loss: dict[str, Any] = component_field("losses", {"name": "nt_xent", "temperature": 0.4},
                                           provided=("gather",))
    pot: POTConfig = field(default_factory=POTConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


@dataclass
class HeteroDataConfig:
    #: as ``DataConfig.root``; ``acm`` is the HeCo folder ``<root>/acm`` or ``<root>/hetero/acm``
    root: str = field(default_factory=default_data_root)
    name: str = "acm"


@dataclass
class MeowModelConfig:
    #: meta-paths as node-type sequences (``[paper, author, paper]``) or edge-type triples
    metapaths: list[list[Any]] = field(default_factory=lambda: [["paper", "author", "paper"],
                                                                ["paper", "subject", "paper"]])
    #: PathSim neighbours kept per node and meta-path (MEOW's ``nei_max``)
    top_k: list[int] = field(default_factory=lambda: [110, 700])
    hidden_channels: int = 64
    out_channels: int = 64
    temperature: float = 0.4
    dropout: float = 0.2
    feature_mask: float = 0.3
    edge_mask: list[float] = field(default_factory=lambda: [0.3, 0.2])
    #: cluster counts of the k-means runs that weight the negatives (MEOW)
    clusters: list[int] = field(default_factory=lambda: [100, 300])
    #: weight of the prototype loss (MEOW); 0 disables it
    proto_weight: float = 1.0
    #: re-run k-means every this many epochs
    cluster_every: int = 1

    def __post_init__(self) -> None:
        check_positive("meow.temperature", self.temperature)
        check_probability("meow.dropout", self.dropout)
        check_probability("meow.feature_mask", self.feature_mask)
        for p in self.edge_mask:
            check_probability("meow.edge_mask", p)
        if len(self.top_k) != len(self.metapaths) or len(self.edge_mask) != len(self.metapaths):
            raise ConfigError("meow.top_k and meow.edge_mask need one entry per meta-path")
        if any(c < 2 for c in self.clusters) or self.cluster_every < 1:
            raise ConfigError("meow.clusters must be >= 2 and meow.cluster_every >= 1")


@dataclass
class MeowTrainConfig:
    epochs: int = 500
    lr: float = 7e-4
    weight_decay: float = 0.0
    #: stop when the loss has not improved for this many epochs (0: never)
    patience: int = 20
    repeats: int = 1
    #: CPU threads for torch and scikit-learn (``null``: torch's default)
    threads: int | None = None
    #: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (:mod:`concord.devices`)
    device: str = "auto"

    def __post_init__(self) -> None:
        check_threads("train.threads", self.threads)
        check_device("train.device", self.device)
        if self.epochs < 0 or self.repeats < 1 or self.patience < 0:
            raise ConfigError("train.epochs, train.patience must be >= 0 and train.repeats >= 1")
        check_positive("train.lr", self.lr)


@dataclass
class MeowEvalConfig:
    #: labelled nodes per class of the splits to probe; the first one fills the *_mean keys
    labels_per_class: list[int] = field(default_factory=lambda: [20, 40, 60])
    kmeans_runs: int = 10
    plot: Literal["tsne", "pca"] = "tsne"


@dataclass
class MeowRunConfig:
    seed: int = 0
    method: Literal["meow", "adameow"] = "meow"
    data: HeteroDataConfig = field(default_factory=HeteroDataConfig)
    meow: MeowModelConfig = field(default_factory=MeowModelConfig)
    train: MeowTrainConfig = field(default_factory=MeowTrainConfig)
    eval: MeowEvalConfig = field(default_factory=MeowEvalConfig)


def schema_for(path: str | Path | None, overrides: list[str]) -> type:
    """The schema a config file asks for through its ``method`` (``--set method=...`` wins)."""
    method = "grace"
    data = read_yaml(path) if path is not None else {}
    method = data.get("method", method)
    for item in overrides:
        key, _, value = item.partition("=")
        if key.strip() == "method":
            method = value.strip()
    if method in ("grace", "gca"):
        return NodeRunConfig
    if method in ("meow", "adameow"):
        asks_for_loss = "loss" in data or any(o.partition("=")[0].strip().startswith("loss") for o in overrides)
        if asks_for_loss:
            raise ConfigError(
                f"method {method}: the loss is fixed by the method (graph.{method}: meta-path "
                "InfoNCE with cluster-weighted negatives and prototypes, whose weights come from "
                "its own k-means), so it takes no loss section; tune it with meow.temperature, "
                "meow.clusters and meow.proto_weight"
            )
        return MeowRunConfig
    raise ConfigError(f"unknown method {method!r}; methods: grace, gca, meow, adameow")
