"""The training loop of ``concord graph train`` for MEOW / AdaMEOW on a heterogeneous graph."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from concord.errors import ConfigError
from concord.run import (
    EarlyStopping,
    Run,
    capture_rng,
    progress,
    restore_rng,
    say,
    seed_everything,
    use_threads,
)
from concord.run.rundir import RunDir
from concord_graph.augment.mask_features import MaskFeatures
from concord_graph.config import MeowRunConfig
from concord_graph.evaluate.embedding_plot import plot_embeddings
from concord_graph.hetero.adameow_loss import AdaMEOWLoss
from concord_graph.hetero.meow import MEOW
from concord_graph.hetero.meow_inputs import MeowInputs, masked_adjacency
from concord_graph.hetero.meow_loss import MEOWLoss
from concord_graph.hetero.proto_nce import proto_nce
from concord_graph.hetero.prototypes import Clustering, cluster_prototypes
from concord_graph.train.epoch_line import epoch_line
from concord_graph.train.meow_evaluation import (
    build_meow_model,
    load_meow_data,
    meow_embedding,
    meow_report,
    probe_meow,
)
from concord_graph.train.resume import ResumePoint

__all__ = ["train_meow"]


def _masked_views(inputs: MeowInputs, cfg: MeowRunConfig, generator: torch.Generator) -> tuple[torch.Tensor, list]:
    """Masked target features (entries, as MEOW) and masked meta-path graphs, drawn from ``generator``."""
    x = MaskFeatures(p=cfg.meow.feature_mask, mode="entry").mask(inputs.x[inputs.target], generator)
    adjs = [masked_adjacency(v, p, generator, inputs.num_nodes) for v, p in zip(inputs.views, cfg.meow.edge_mask)]
    return x, adjs


def _clusterings_state(cs: list[Clustering] | None) -> list[dict[str, torch.Tensor]] | None:
    if cs is None:
        return None
    return [{"assignment": c.assignment, "centroids": c.centroids, "density": c.density} for c in cs]


def train_meow(run: Run[MeowRunConfig]) -> dict[str, Any]:
    """Train ``cfg.train.repeats`` models, probe each on the configured splits, return the report.

    MEOW trains full-batch on one process: its k-means over all nodes and its prototype loss are
    global, and the authors give no way to shard them, so ``torchrun`` is refused (a sharded
    version would need gathered k-means; several processes would each train the whole model)."""
    cfg, run_dir, device = run.config, run.dir, run.device
    if run.world_size > 1:
        raise ConfigError(
            f"method {cfg.method} trains full-batch on one process (its k-means and prototypes span "
            f"every node); run it without torchrun (got {run.world_size} processes)"
        )
    use_threads(cfg.train.threads)
    data = load_meow_data(cfg, device)
    inputs = data.inputs
    too_many = [k for k in cfg.meow.clusters if k > inputs.num_nodes]
    if too_many:
        raise ConfigError(f"meow.clusters {too_many}: k-means cannot make more clusters than the "
                          f"{inputs.num_nodes} {inputs.target!r} nodes of {cfg.data.name!r}")

    point = ResumePoint.restore(run.resume_state)
    results, seconds, start_repeat = point.results, point.seconds, point.start_repeat

    embedding = None
    repeats = cfg.train.repeats
    for r in range(start_repeat, repeats):
        state = point.state_for(r)
        seed = cfg.seed + r
        model, stopped, final = _train_one(cfg, inputs, seed, r, run_dir, state, results, seconds, device)
        embedding = meow_embedding(model, inputs)
        res = {**probe_meow(cfg, data, embedding, r), "epochs_trained": stopped}
        results.append(res)
        if r == repeats - 1 and final is not None:
            # the last repeat's training state (a raised budget continues it unless it stopped early)
            run_dir.save_progress({**final, "evaluated": True, "results": results, "seconds": seconds},
                                  done=cfg.train.epochs, extendable=repeats == 1 and not final["stopped"])
        run_dir.log({"repeat": r, "epoch": cfg.train.epochs, **{k: v for k, v in res.items() if k != "repeat"}})
        run_dir.save_checkpoint({"model": model.state_dict(), "embeddings": embedding}, f"model_{r}.pt")
        if r < repeats - 1:
            run_dir.save_progress({"repeat": r + 1, "epoch": -1, "results": results, "seconds": seconds},
                                  done=0, extendable=False)

    report: dict[str, Any] = {  # the evaluation's keys (also what `concord graph evaluate` writes) and training facts
        **meow_report(cfg, results),
        "epochs_trained": [int(res["epochs_trained"]) for res in results],
        "epoch_seconds_mean": float(np.mean(seconds)) if seconds else 0.0,
    }
    if embedding is not None:
        run_dir.plot_metrics(["loss", "info", "proto"], "loss.png")
        say(f"embedding plot ({cfg.eval.plot} of {embedding.shape[0]} nodes)")
        plot_embeddings(embedding, data.labels, run_dir.file(f"embeddings_{cfg.eval.plot}.png"), method=cfg.eval.plot,
                        title=f"{cfg.method} on {cfg.data.name} ({cfg.eval.plot})", seed=cfg.seed)
    return report


def _train_one(cfg: MeowRunConfig, inputs: MeowInputs, seed: int, repeat: int, run_dir: RunDir,
               state: dict[str, Any] | None, results: list, seconds: list, device: torch.device
               ) -> tuple[MEOW, int, dict[str, Any] | None]:
    """Train one repeat; returns the model, the epochs it trained, and its last training state
    (``None`` when it trained no epoch)."""
    seed_everything(seed)
    m = cfg.meow
    model = build_meow_model(cfg, inputs).to(device)
    adaptive = cfg.method == "adameow"
    loss_fn = AdaMEOWLoss(channels=m.out_channels, temperature=m.temperature) if adaptive else \
        MEOWLoss(temperature=m.temperature, block_size=1024)
    loss_fn = loss_fn.to(device)
    opt = torch.optim.Adam([*model.parameters(), *loss_fn.parameters()], lr=cfg.train.lr,
                           weight_decay=cfg.train.weight_decay)
    # masked views: drawn once per run from their own seeded generator (as the authors' code)
    masked_x, masked_adjs = _masked_views(inputs, cfg, torch.Generator().manual_seed(seed))
    start, clusterings = 0, None
    stopper = EarlyStopping(patience=cfg.train.patience, mode="min")  # on the training loss
    last: dict[str, Any] | None = None
    if state is not None:
        model.load_state_dict(state["model"])
        loss_fn.load_state_dict(state["loss"])
        opt.load_state_dict(state["optimizer"])
        restore_rng(state["rng"])
        start = int(state["epoch"]) + 1
        stopper.load_state_dict(state["early_stopping"])
        if state["clusterings"] is not None:
            clusterings = [Clustering(**{k: v.to(device) for k, v in c.items()}) for c in state["clusterings"]]
        last = {k: state[k] for k in ("repeat", "epoch", "model", "loss", "optimizer", "rng", "early_stopping",
                                      "stopped", "clusterings")}
        if state["stopped"]:
            return model, start, last
    epoch = start
    epochs = range(start, cfg.train.epochs)
    extendable = ResumePoint.extendable(repeat, cfg.train.repeats)
    desc = f"{cfg.method} [{repeat + 1}/{cfg.train.repeats}]"
    for epoch in progress(epochs, desc=desc, initial=start, total=cfg.train.epochs):
        t0 = time.perf_counter()
        model.train()
        out = model(inputs, masked_x, masked_adjs)
        row: dict[str, float] = {}
        if adaptive:
            loss = loss_fn(out.fine, out.coarse)
            row["info"] = float(loss.detach())
        else:
            if clusterings is None or epoch % m.cluster_every == 0:
                clusterings = cluster_prototypes(out.fine.detach(), m.clusters, m.temperature, seed=seed * 100003 + epoch)
            ids = torch.stack([c.assignment for c in clusterings], dim=1)
            info = loss_fn(out.coarse, out.fine, ids)
            proto = proto_nce(out.coarse, clusterings) if m.proto_weight > 0 else info.new_zeros(())
            loss = info + m.proto_weight * proto
            row.update(info=float(info.detach()), proto=float(proto.detach()))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = float(loss.detach())
        stopper.update(epoch, value)
        stop = stopper.should_stop
        dt = time.perf_counter() - t0
        seconds.append(dt)
        run_dir.log({"repeat": repeat, "epoch": epoch, "loss": value, **row, "epoch_seconds": dt})
        epoch_line(desc, epoch, cfg.train.epochs, {"loss": value, **row}, dt)
        last = {"repeat": repeat, "epoch": epoch, "model": model.state_dict(), "loss": loss_fn.state_dict(),
                "optimizer": opt.state_dict(), "rng": capture_rng(), "early_stopping": stopper.state_dict(), "stopped": stop,
                "clusterings": _clusterings_state(clusterings)}
        run_dir.save_progress({**last, "results": results, "seconds": seconds}, done=epoch + 1,
                              extendable=extendable and not stop)
        if stop:
            return model, epoch + 1, last
    return model, (epoch + 1 if cfg.train.epochs > start else start), last
