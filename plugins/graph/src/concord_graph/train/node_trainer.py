"""The training loop of ``concord graph train`` for GRACE / GCA (+ POT) on a homogeneous graph."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch_geometric.data import HeteroData

from concord.run import capture_rng, progress, restore_rng, seed_everything
from concord.run.rundir import RunDir
from concord_graph.config import NodeRunConfig
from concord_graph.contrast.grace import GRACE
from concord_graph.contrast.node_batches import NodeBatches, batched_embeddings, full_batch
from concord_graph.contrast.node_contrast_step import NodeContrastStep, all_reduce_gradients
from concord_graph.data.datasets import load_graph
from concord_graph.evaluate.embedding_plot import plot_embeddings
from concord_graph.evaluate.linear_probe import node_probe
from concord_graph.evaluate.splits import protocol_split
from concord_graph.graph_input import check_data
from concord_graph.nn.gcn_encoder import GCNEncoder
from concord_graph.train.resume import ResumePoint
from concord_graph.train.views import build_view, edge_drop_rate

__all__ = ["train_node_contrast"]


def _budgets(cfg: NodeRunConfig) -> tuple[float, float] | None:
    if not cfg.pot.enabled:
        return None
    if cfg.pot.budget is not None:
        return float(cfg.pot.budget[0]), float(cfg.pot.budget[1])
    return edge_drop_rate(cfg.augment.view1, "view1"), edge_drop_rate(cfg.augment.view2, "view2")


def _build_model(cfg: NodeRunConfig, in_channels: int, gather: bool) -> GRACE:
    e = cfg.encoder
    encoder = GCNEncoder(in_channels, e.out_channels, hidden_channels=e.hidden_channels,
                         num_layers=e.num_layers, activation=e.activation)
    return GRACE(encoder, projection_channels=e.projection_channels, temperature=cfg.loss.temperature,
                 block_size=cfg.loss.block_size, gather=gather)


def train_node_contrast(cfg: NodeRunConfig, run_dir: RunDir | None, resume_state: dict[str, Any] | None,
                        *, rank: int = 0, world_size: int = 1) -> dict[str, Any]:
    """Train ``cfg.train.repeats`` models, probe each, return the report (rank 0 writes the run
    folder; ``run_dir`` is ``None`` on the other ranks)."""
    if cfg.train.threads is not None:
        torch.set_num_threads(cfg.train.threads)
    data = load_graph(cfg.data.root, cfg.data.name, generated=cfg.data.generated, seed=cfg.seed,
                      normalize_features=cfg.data.normalize_features)
    if isinstance(data, HeteroData):
        raise ValueError(f"{cfg.data.name!r} is a heterogeneous graph; train it with method: meow")
    check_data(data)
    if "y" not in data:
        raise ValueError(f"{cfg.data.name!r} has no labels `y` to evaluate the embeddings with")
    budgets = _budgets(cfg)
    view1, view2 = build_view(cfg.augment.view1), build_view(cfg.augment.view2)
    num_hops = cfg.train.num_hops or cfg.encoder.num_layers
    splits = 1 if cfg.eval.protocol == "public" else cfg.eval.splits

    point = ResumePoint.restore(resume_state, run_dir)
    results, seconds, start_repeat = point.results, point.seconds, point.start_repeat

    embeddings = None
    for r in range(start_repeat, cfg.train.repeats):
        state = point.state_for(r)
        seed = cfg.seed + r
        model, losses = _train_one(cfg, data, seed, r, view1, view2, budgets, num_hops, run_dir, state,
                                   results, seconds, rank, world_size)
        if rank != 0:
            continue  # the other processes only help training; rank 0 evaluates and reports
        model.eval()
        embeddings = batched_embeddings(model.encoder.encode, data, cfg.train.batch_size, num_hops)
        accs = []
        for s in range(splits):
            split = protocol_split(cfg.eval.protocol, int(data.num_nodes), seed=seed * 1000 + s, data=data)
            res = node_probe(embeddings, data.y, split, seed=seed)
            accs.append(res.test_acc)
        results.append({"repeat": r, "test_acc": accs, "n_train": res.n_train, "n_val": res.n_val,
                        "n_test": res.n_test, "final_loss": losses[-1] if losses else float("nan")})
        if run_dir is not None:
            run_dir.log({"repeat": r, "epoch": cfg.train.epochs, "test_acc": float(np.mean(accs))})
            run_dir.save_checkpoint({"model": model.state_dict(), "embeddings": embeddings}, f"model_{r}.pt")
            run_dir.save_checkpoint({"repeat": r + 1, "epoch": -1, "results": results, "seconds": seconds})

    if rank != 0:
        return {}
    accs = [a for res in results for a in res["test_acc"]]
    report = {
        "method": cfg.method,
        "pot": cfg.pot.enabled,
        "dataset": cfg.data.name,
        "protocol": cfg.eval.protocol,
        "test_acc_mean": float(np.mean(accs)),
        "test_acc_std": float(np.std(accs)),
        "test_acc_per_repeat": [float(np.mean(res["test_acc"])) for res in results],
        "repeats": cfg.train.repeats,
        "splits_per_repeat": splits,
        "n_train": results[-1]["n_train"],
        "n_val": results[-1]["n_val"],
        "n_test": results[-1]["n_test"],
        "epochs": cfg.train.epochs,
        "final_loss": results[-1]["final_loss"],
        "epoch_seconds_mean": float(np.mean(seconds)) if seconds else 0.0,
        "mode": "full_batch" if cfg.train.batch_size is None else f"mini_batch_{cfg.train.batch_size}",
        "world_size": world_size,
    }
    if run_dir is not None and embeddings is not None:
        run_dir.plot_metrics(["loss", "nce", "pot"], "loss.png")
        plot_embeddings(embeddings, data.y, run_dir.file(f"embeddings_{cfg.eval.plot}.png"), method=cfg.eval.plot,
                        title=f"{cfg.method}{' + POT' if cfg.pot.enabled else ''} on {cfg.data.name} ({cfg.eval.plot})",
                        seed=cfg.seed)
    return report


def _train_one(cfg: NodeRunConfig, data, seed: int, repeat: int, view1, view2, budgets, num_hops: int,
               run_dir: RunDir | None, state: dict[str, Any] | None, results: list, seconds: list,
               rank: int, world_size: int) -> tuple[GRACE, list[float]]:
    seed_everything(seed)
    gather = world_size > 1
    model = _build_model(cfg, int(data.num_features), gather)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    order_g = torch.Generator().manual_seed(seed)  # the same on every process
    aug_g = torch.Generator().manual_seed(seed + 7919 * (rank + 1))  # each process its own draws
    start = 0
    losses: list[float] = []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        order_g.set_state(state["order_generator"])
        aug_g.set_state(state["augment_generator"])
        restore_rng(state["rng"])
        losses = list(state["losses"])
        start = int(state["epoch"]) + 1
    step = NodeContrastStep(model, view1, view2, kappa=cfg.pot.kappa if cfg.pot.enabled else None,
                            budgets=budgets, gather=gather)
    whole = full_batch(data) if cfg.train.batch_size is None else None
    desc = f"{cfg.method}{'+pot' if cfg.pot.enabled else ''} [{repeat + 1}/{cfg.train.repeats}]"
    epochs = range(start, cfg.train.epochs)
    for epoch in (progress(epochs, desc=desc, initial=start, total=cfg.train.epochs) if rank == 0 else epochs):
        t0 = time.perf_counter()
        model.train()
        batches = [whole] if whole is not None else NodeBatches(
            data, cfg.train.batch_size, num_hops, order_g, rank=rank, world_size=world_size)
        sums: dict[str, float] = {}
        count = 0
        for batch in batches:
            out = step(batch, aug_g)
            opt.zero_grad(set_to_none=True)
            out["loss"].backward()
            all_reduce_gradients(model.parameters())
            opt.step()
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            count += 1
        row = {k: v / max(count, 1) for k, v in sums.items()}
        losses.append(row["loss"])
        dt = time.perf_counter() - t0
        seconds.append(dt)
        if run_dir is not None:
            run_dir.log({"repeat": repeat, "epoch": epoch, **row, "epoch_seconds": dt})
            run_dir.save_checkpoint({
                "repeat": repeat, "epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
                "order_generator": order_g.get_state(), "augment_generator": aug_g.get_state(),
                "rng": capture_rng(), "losses": losses, "results": results, "seconds": seconds,
            })
    return model, losses
