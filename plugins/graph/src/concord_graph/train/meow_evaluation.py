"""The evaluation of a MEOW / AdaMEOW run: its inputs, the model a config describes, the
embedding the probes read, the probes of every repeat and the report keys they give. Shared by
``concord graph train`` (after each repeat) and ``concord graph evaluate`` (from the saved
models), so both compute the same values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import HeteroData

from concord.errors import ConfigError, DataError
from concord.run import say
from concord_graph.config import MeowRunConfig
from concord_graph.data.datasets import load_graph
from concord_graph.evaluate.clustering import kmeans_scores
from concord_graph.evaluate.linear_probe import hetero_probe
from concord_graph.evaluate.splits import Split
from concord_graph.hetero.meow import MEOW
from concord_graph.hetero.meow_inputs import MeowInputs, prepare_meow_inputs

__all__ = ["MeowData", "build_meow_model", "load_meow_data", "meow_embedding", "meow_report", "probe_meow"]


@dataclass(frozen=True)
class MeowData:
    """The prepared inputs (on the run's device), the target nodes' labels (CPU) and the splits."""

    inputs: MeowInputs
    labels: torch.Tensor
    splits: dict[int, Split]


def _split(store, ratio: int) -> Split:
    def idx(part: str) -> np.ndarray:
        key = f"{part}_mask_{ratio}"
        if key not in store:
            raise DataError(f"the graph has no {key}; eval.labels_per_class must name splits it has")
        return store[key].nonzero().view(-1).cpu().numpy()

    return Split(idx("train"), idx("val"), idx("test"))


def load_meow_data(cfg: MeowRunConfig, device: torch.device) -> MeowData:
    data = load_graph(cfg.data.root, cfg.data.name)
    if not isinstance(data, HeteroData):
        raise ConfigError(f"{cfg.data.name!r} is a homogeneous graph; MEOW needs a heterogeneous one (method: grace)")
    inputs = prepare_meow_inputs(data.to(device), cfg.meow.metapaths, cfg.meow.top_k)
    store = data[inputs.target]
    if "y" not in store:
        raise DataError(f"node type {inputs.target!r} has no labels `y` to evaluate with")
    return MeowData(inputs, store.y.cpu(), {r: _split(store, r) for r in cfg.eval.labels_per_class})


def build_meow_model(cfg: MeowRunConfig, inputs: MeowInputs) -> MEOW:
    m = cfg.meow
    in_channels = {t: int(x.shape[1]) for t, x in inputs.x.items()}
    return MEOW(in_channels, inputs.target, [[t for t, _ in v.contexts] for v in inputs.views],
                hidden_channels=m.hidden_channels, out_channels=m.out_channels, dropout=m.dropout)


@torch.no_grad()
def meow_embedding(model: MEOW, inputs: MeowInputs) -> torch.Tensor:
    """The fused fine-grained embedding of the unmasked inputs, in eval mode, on the CPU."""
    model.eval()
    plain = [v.adjacency for v in inputs.views]
    return model(inputs, inputs.x[inputs.target], plain).embedding.cpu()


def probe_meow(cfg: MeowRunConfig, data: MeowData, embedding: torch.Tensor, repeat: int) -> dict[str, Any]:
    """The probes of every ``eval.labels_per_class`` split and k-means NMI / ARI of one repeat."""
    say(f"linear probes ({', '.join(map(str, data.splits))} labels per class) and k-means, "
        f"repeat {repeat + 1}/{cfg.train.repeats}")
    scores = {ratio: hetero_probe(embedding, data.labels, split) for ratio, split in data.splits.items()}
    nmi, ari = kmeans_scores(embedding, data.labels, runs=cfg.eval.kmeans_runs, seed=cfg.seed + repeat)
    res: dict[str, Any] = {"repeat": repeat, "nmi": nmi, "ari": ari}
    for ratio, s in scores.items():
        res.update({f"macro_f1_{ratio}": s.macro_f1, f"micro_f1_{ratio}": s.micro_f1, f"auc_{ratio}": s.auc})
    return res


def meow_report(cfg: MeowRunConfig, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The evaluation keys of ``report.json`` from the repeats' probes (:func:`probe_meow`)."""
    main = cfg.eval.labels_per_class[0]
    report: dict[str, Any] = {"method": cfg.method, "dataset": cfg.data.name, "labels_per_class": main,
                              "repeats": len(results)}
    for metric in ("macro_f1", "micro_f1", "auc"):
        for ratio in cfg.eval.labels_per_class:
            vals = [res[f"{metric}_{ratio}"] for res in results]
            suffix = "" if ratio == main else f"_{ratio}"
            report[f"{metric}{suffix}_mean"] = float(np.mean(vals))
            report[f"{metric}{suffix}_std"] = float(np.std(vals))
    report["nmi"] = float(np.mean([res["nmi"] for res in results]))
    report["ari"] = float(np.mean([res["ari"] for res in results]))
    return report
