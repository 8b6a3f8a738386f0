"""``concord graph evaluate RUN``: the evaluation of a run's saved models, as ``train`` computes it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
from torch_geometric.data import HeteroData

from concord.errors import CheckpointError, ConfigError
from concord.run import load_checkpoint
from concord.run.evaluate import Evaluation
from concord.run.threads import use_threads
from concord_graph.config import MeowRunConfig, NodeRunConfig
from concord_graph.data.datasets import load_graph
from concord_graph.train.meow_evaluation import (
    build_meow_model,
    load_meow_data,
    meow_embedding,
    meow_report,
    probe_meow,
)
from concord_graph.train.node_evaluation import (
    build_node_model,
    node_embeddings,
    node_report,
    probe_repeat,
)

__all__ = ["evaluate_run"]


def _models(ev: Evaluation[Any]) -> list[tuple[int, dict[str, Any]]]:
    """``(repeat, weights)`` of every ``checkpoints/model_<r>.pt``, or of the checkpoint given."""
    if ev.checkpoint is not None:
        found = re.fullmatch(r"model_(\d+)\.pt", ev.checkpoint.name)
        if found is None:
            raise CheckpointError(f"{ev.checkpoint} is not a trained model of a graph run (checkpoints/model_<r>.pt)")
        paths = [(int(found.group(1)), ev.checkpoint)]
    else:
        paths = [(r, ev.run_dir / "checkpoints" / f"model_{r}.pt") for r in range(ev.config.train.repeats)]
        missing = [str(p) for _, p in paths if not p.is_file()]
        if missing:
            raise CheckpointError(f"the run has no trained model {', '.join(missing)} (was it interrupted?); "
                                  "give one of its checkpoints/model_<r>.pt instead")
    return [(r, _weights(Path(p), ev.device)) for r, p in paths]


def _weights(path: Path, device: torch.device) -> dict[str, Any]:
    state = load_checkpoint(path, map_location=device)
    if "model" not in state:
        raise CheckpointError(f"{path} holds no model weights")
    return state["model"]


def evaluate_run(ev: Evaluation[NodeRunConfig | MeowRunConfig]) -> dict[str, Any]:
    """The evaluation keys of ``report.json`` (the probes' metrics and what they describe; not
    the training facts such as ``final_loss`` or ``epoch_seconds_mean``), recomputed from the
    saved weights; equal to the run's own report when nothing is overridden (tested)."""
    cfg = ev.config
    use_threads(cfg.train.threads)
    models = _models(ev)
    results = []
    if isinstance(cfg, MeowRunConfig):
        data = load_meow_data(cfg, ev.device)
        for r, weights in models:
            model = build_meow_model(cfg, data.inputs).to(ev.device)
            model.load_state_dict(weights)
            results.append(probe_meow(cfg, data, meow_embedding(model, data.inputs), r))
        return meow_report(cfg, results)
    graph = load_graph(cfg.data.root, cfg.data.name, generated=cfg.data.generated, seed=cfg.seed,
                       normalize_features=cfg.data.normalize_features, download=cfg.data.download)
    if isinstance(graph, HeteroData):
        raise ConfigError(f"{cfg.data.name!r} is a heterogeneous graph; its run has method: meow")
    graph = graph.to(ev.device)
    for r, weights in models:
        model = build_node_model(cfg, int(graph.num_features), gather=False).to(ev.device)
        model.load_state_dict(weights)
        results.append(probe_repeat(cfg, graph, node_embeddings(model, graph, cfg), r))
    return node_report(cfg, results)
