"""The training loop of ``concord graph train`` for GRACE / GCA (+ POT) on a homogeneous graph."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch_geometric.data import HeteroData

from concord.distributed import sum_gradients
from concord.errors import ConfigError, DataError
from concord.run import (
    Run,
    capture_rng,
    progress,
    restore_rng,
    say,
    seed_everything,
    use_threads,
)
from concord.run.rundir import RunDir
from concord_graph.config import NodeRunConfig
from concord_graph.contrast.grace import GRACE
from concord_graph.contrast.node_batches import NodeBatches, full_batch
from concord_graph.contrast.node_contrast_step import NodeContrastStep
from concord_graph.data.datasets import load_graph
from concord_graph.evaluate.embedding_plot import plot_embeddings
from concord_graph.graph_input import check_data
from concord_graph.train.epoch_line import epoch_line
from concord_graph.train.node_evaluation import (
    build_node_model,
    node_embeddings,
    node_report,
    probe_repeat,
)
from concord_graph.train.resume import ResumePoint
from concord_graph.train.views import build_view, edge_drop_rate

__all__ = ["train_node_contrast"]


def _monitor(cfg: NodeRunConfig) -> bool:
    return cfg.pot.enabled if cfg.pot.monitor is None else cfg.pot.monitor


def _budgets(cfg: NodeRunConfig) -> tuple[float, float] | None:
    if not cfg.pot.enabled and not _monitor(cfg):
        return None
    if cfg.pot.budget is not None:
        return float(cfg.pot.budget[0]), float(cfg.pot.budget[1])
    return edge_drop_rate(cfg.augment.view1, "view1"), edge_drop_rate(cfg.augment.view2, "view2")


def train_node_contrast(run: Run[NodeRunConfig]) -> dict[str, Any]:
    """Train ``cfg.train.repeats`` models, probe each, return the report (rank 0 writes the run
    folder and evaluates; the other ranks help training and return ``{}``)."""
    cfg, run_dir, rank, world_size, device = run.config, run.dir, run.rank, run.world_size, run.device
    use_threads(cfg.train.threads)
    data = load_graph(cfg.data.root, cfg.data.name, generated=cfg.data.generated, seed=cfg.seed,
                      normalize_features=cfg.data.normalize_features, download=cfg.data.download)
    if isinstance(data, HeteroData):
        raise ConfigError(f"{cfg.data.name!r} is a heterogeneous graph; train it with method: meow")
    check_data(data)
    if "y" not in data:
        raise DataError(f"{cfg.data.name!r} has no labels `y` to evaluate the embeddings with")
    data = data.to(device)
    budgets = _budgets(cfg)
    view1, view2 = build_view(cfg.augment.view1, "view1"), build_view(cfg.augment.view2, "view2")
    num_hops = cfg.train.num_hops or cfg.encoder.num_layers

    point = ResumePoint.restore(run.resume_state)
    results, seconds, start_repeat = point.results, point.seconds, point.start_repeat

    embeddings = None
    repeats = cfg.train.repeats
    for r in range(start_repeat, repeats):
        state = point.state_for(r)
        seed = cfg.seed + r
        model, opt, gens, losses = _train_one(cfg, data, seed, r, view1, view2, budgets, num_hops, run_dir,
                                              state, results, seconds, rank, world_size, device)
        if rank == 0:  # the other processes only help training; rank 0 evaluates and reports
            embeddings = node_embeddings(model, data, cfg)
            results.append({**probe_repeat(cfg, data, embeddings, r), "final_loss": losses[-1] if losses else None})
        if r == repeats - 1:
            # the last repeat's whole training state, so a raised budget can continue it; written
            # before the evaluation's metrics line, which a resume then redoes with the evaluation
            run_dir.save_progress({**_training_state(r, cfg.train.epochs - 1, model, opt, gens, losses),
                                   "evaluated": True, "results": results, "seconds": seconds},
                                  done=cfg.train.epochs, extendable=repeats == 1)
        if rank == 0:
            run_dir.log({"repeat": r, "epoch": cfg.train.epochs,
                         "test_acc": float(np.mean(results[-1]["test_acc"]))})
            run_dir.save_checkpoint({"model": model.state_dict(), "embeddings": embeddings}, f"model_{r}.pt")
        if r < repeats - 1:
            run_dir.save_progress({"repeat": r + 1, "epoch": -1, "results": results, "seconds": seconds},
                                  done=0, extendable=False)

    if rank != 0:
        return {}
    report = {  # the evaluation's keys (node_report; also what `concord graph evaluate` writes) and training facts
        **node_report(cfg, results),
        "epochs": cfg.train.epochs,
        "final_loss": results[-1]["final_loss"],
        "device": str(device),
        "epoch_seconds_mean": float(np.mean(seconds)) if seconds else 0.0,
        "world_size": world_size,
    }
    if embeddings is not None:
        run_dir.plot_metrics(["loss", "nce", "pot"], "loss.png")
        say(f"embedding plot ({cfg.eval.plot} of {embeddings.shape[0]} nodes)")
        if _monitor(cfg):
            run_dir.plot_metrics(["compactness_view", "compactness_authors", "compactness_certified"],
                                 "compactness.png")
        plot_embeddings(embeddings, data.y.cpu(), run_dir.file(f"embeddings_{cfg.eval.plot}.png"), method=cfg.eval.plot,
                        title=f"{cfg.method}{' + POT' if cfg.pot.enabled else ''} on {cfg.data.name} ({cfg.eval.plot})",
                        seed=cfg.seed)
    return report


def _training_state(repeat: int, epoch: int, model: GRACE, opt: torch.optim.Optimizer,
                    gens: tuple[torch.Generator, torch.Generator], losses: list[float]) -> dict[str, Any]:
    return {"repeat": repeat, "epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
            "order_generator": gens[0].get_state(), "augment_generator": gens[1].get_state(),
            "rng": capture_rng(), "losses": losses}


def _train_one(cfg: NodeRunConfig, data, seed: int, repeat: int, view1, view2, budgets, num_hops: int,
               run_dir: RunDir, state: dict[str, Any] | None, results: list, seconds: list,
               rank: int, world_size: int, device: torch.device):
    seed_everything(seed)
    gather = world_size > 1
    model = build_node_model(cfg, int(data.num_features), gather).to(device)
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
                            budgets=budgets, bound=cfg.pot.bound, monitor=_monitor(cfg), gather=gather)
    whole = full_batch(data) if cfg.train.batch_size is None else None
    desc = f"{cfg.method}{'+pot' if cfg.pot.enabled else ''} [{repeat + 1}/{cfg.train.repeats}]"
    epochs = range(start, cfg.train.epochs)
    extendable = ResumePoint.extendable(repeat, cfg.train.repeats)
    for epoch in progress(epochs, desc=desc, initial=start, total=cfg.train.epochs, disable=rank != 0 or None):
        t0 = time.perf_counter()
        step.monitor = _monitor(cfg) and (epoch % cfg.pot.monitor_every == 0 or epoch == cfg.train.epochs - 1)
        model.train()
        batches = [whole] if whole is not None else NodeBatches(
            data, cfg.train.batch_size, num_hops, order_g, rank=rank, world_size=world_size)
        sums: dict[str, float] = {}
        count = 0
        for batch in batches:
            out = step(batch, aug_g)
            opt.zero_grad(set_to_none=True)
            out["loss"].backward()
            sum_gradients(model.parameters())
            opt.step()
            for k, v in out.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            count += 1
        row = {k: v / max(count, 1) for k, v in sums.items()}
        losses.append(row["loss"])
        dt = time.perf_counter() - t0
        seconds.append(dt)
        run_dir.log({"repeat": repeat, "epoch": epoch, **row, "epoch_seconds": dt})
        epoch_line(desc, epoch, cfg.train.epochs, row, dt)
        run_dir.save_progress({**_training_state(repeat, epoch, model, opt, (order_g, aug_g), losses),
                               "results": results, "seconds": seconds}, done=epoch + 1, extendable=extendable)
    return model, opt, (order_g, aug_g), losses
