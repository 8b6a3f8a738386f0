"""The evaluation of a node-contrast run (GRACE / GCA + POT): the model a config describes, the
embeddings the probe reads, the probe of every repeat and the report keys they give. Shared by
``concord graph train`` (after each repeat) and ``concord graph evaluate`` (from the saved
models), so both compute the same values."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from concord.run import build_component, say
from concord_graph.config import NodeRunConfig
from concord_graph.contrast.grace import GRACE
from concord_graph.contrast.node_batches import batched_embeddings
from concord_graph.evaluate.linear_probe import node_probe
from concord_graph.evaluate.splits import protocol_split
from concord_graph.nn.gcn_encoder import GCNEncoder

__all__ = ["build_node_model", "node_embeddings", "node_report", "probe_repeat"]


def build_node_model(cfg: NodeRunConfig, in_channels: int, gather: bool) -> GRACE:
    """GRACE with the encoder of ``cfg.encoder`` and the loss of ``cfg.loss`` (from the registry)."""
    e = cfg.encoder
    encoder = GCNEncoder(in_channels, e.out_channels, hidden_channels=e.hidden_channels,
                         num_layers=e.num_layers, activation=e.activation, sparse_input=e.sparse_input)
    loss = build_component("losses", cfg.loss, where="loss", provided={"gather": gather},
                           required=("gather",) if gather else (),
                           why={"gather": "under torchrun each node contrasts with every process's nodes"})
    return GRACE(encoder, projection_channels=e.projection_channels, loss=loss)


def node_embeddings(model: GRACE, data: Data, cfg: NodeRunConfig) -> torch.Tensor:
    """The encoder's embeddings of every node (eval mode, on the CPU): the whole graph at once, or
    exact ``train.batch_size`` mini-batches in mini-batch mode."""
    model.eval()
    num_hops = cfg.train.num_hops or cfg.encoder.num_layers
    return batched_embeddings(model.encoder.encode, data, cfg.train.batch_size, num_hops).cpu()


def probe_repeat(cfg: NodeRunConfig, data: Data, embeddings: torch.Tensor, repeat: int) -> dict[str, Any]:
    """The linear probe of repeat ``repeat`` on each of its splits (seeds ``seed * 1000 + s`` of
    the repeat's seed ``cfg.seed + repeat``); one status line per split."""
    seed = cfg.seed + repeat
    splits = 1 if cfg.eval.protocol == "public" else cfg.eval.splits
    y = data.y.cpu()
    accs = []
    for s in range(splits):
        say(f"linear probe ({cfg.eval.protocol}), repeat {repeat + 1}/{cfg.train.repeats}, split {s + 1}/{splits}")
        split = protocol_split(cfg.eval.protocol, int(data.num_nodes), seed=seed * 1000 + s, data=data)
        res = node_probe(embeddings, y, split, seed=seed)
        accs.append(res.test_acc)
    return {"repeat": repeat, "test_acc": accs, "n_train": res.n_train, "n_val": res.n_val, "n_test": res.n_test}


def node_report(cfg: NodeRunConfig, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The evaluation keys of ``report.json`` from the repeats' probes (:func:`probe_repeat`)."""
    accs = [a for res in results for a in res["test_acc"]]
    return {
        "method": cfg.method,
        "pot": cfg.pot.enabled,
        "pot_bound": cfg.pot.bound if cfg.pot.enabled else None,
        "dataset": cfg.data.name,
        "protocol": cfg.eval.protocol,
        "test_acc_mean": float(np.mean(accs)),
        "test_acc_std": float(np.std(accs)),
        "test_acc_per_repeat": [float(np.mean(res["test_acc"])) for res in results],
        "repeats": len(results),
        "splits_per_repeat": 1 if cfg.eval.protocol == "public" else cfg.eval.splits,
        "n_train": results[-1]["n_train"],
        "n_val": results[-1]["n_val"],
        "n_test": results[-1]["n_test"],
        "mode": "full_batch" if cfg.train.batch_size is None else f"mini_batch_{cfg.train.batch_size}",
    }
