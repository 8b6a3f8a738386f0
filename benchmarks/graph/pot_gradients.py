"""How strongly POT pulls on the encoder next to InfoNCE, and what it does to the embeddings.

For a model (freshly initialised from a config, or trained: a run folder's
``checkpoints/model_0.pt``) and ``--draws`` pairs of the config's views, this prints the norm of
the parameter gradient of the two terms of the GRACE + POT loss, :math:`(1-\\kappa)\\,\\nabla
\\mathcal{J}` and :math:`\\kappa\\,\\nabla \\mathcal{L}_{\\mathrm{POT}}`, for both bounds, their
ratio and cosine, and the state of the embeddings: mean norm, mean cosine between two different
nodes' embeddings (1 = collapsed), and the mean compactness of the sampled views.

    python benchmarks/graph/pot_gradients.py --data-root ../shared/data                 # at init
    python benchmarks/graph/pot_gradients.py --data-root ../shared/data --run runs/graph_reproduce/grace_pot_certified_seed0
    python benchmarks/graph/pot_gradients.py --data-root ../shared/data --trajectory 60:10 \
        --set pot.enabled=true --set pot.bound=certified --set pot.kappa=0.4     # during training
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parents[1] / "plugins" / "graph" / "configs" / "grace_cora.yaml"


def _flat_grad(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)])


def main() -> None:
    from concord.run import load_config
    from concord.run.checkpoint import load_checkpoint
    from concord_graph.config import NodeRunConfig
    from concord_graph.contrast import NodeContrastStep, full_batch
    from concord_graph.data import load_graph
    from concord_graph.train.node_evaluation import build_node_model
    from concord_graph.train.node_trainer import _budgets
    from concord_graph.train.views import build_view

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--run", type=Path, default=None, help="a run folder (default: a fresh model of --config)")
    p.add_argument("--config", type=Path, default=CONFIG)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--kappa", type=float, default=0.4)
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--trajectory", default=None, metavar="EPOCHS:EVERY",
                   help="train a fresh model with the config (and --set) for EPOCHS, measuring every EVERY epochs")
    p.add_argument("--json", type=Path, default=None, help="append the results as JSON lines here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    config = args.run / "config.yaml" if args.run else args.config
    cfg = load_config(NodeRunConfig, config, [f"data.root={args.data_root}", *args.overrides])
    data = load_graph(cfg.data.root, cfg.data.name, normalize_features=cfg.data.normalize_features)
    torch.manual_seed(args.seed)
    model = build_node_model(cfg, int(data.num_features), gather=False)
    if args.run:
        model.load_state_dict(load_checkpoint(args.run / "checkpoints" / "model_0.pt")["model"])
    budgets = _budgets(cfg) or (float(cfg.augment.view1[0]["p"]), float(cfg.augment.view2[0]["p"]))
    views = build_view(cfg.augment.view1, "view1"), build_view(cfg.augment.view2, "view2")
    batch = full_batch(data)
    g = torch.Generator().manual_seed(args.seed)
    if args.trajectory is None:
        result = {"model": str(args.run) if args.run else f"init seed {args.seed}", "kappa": args.kappa,
                  **_measure(model, views, budgets, batch, data, args.kappa, args.draws, g)}
        print(json.dumps(result, indent=2))
        rows = [result]
    else:  # train with the config itself, measuring every `every` epochs
        epochs, every = (int(v) for v in args.trajectory.split(":"))
        step = NodeContrastStep(model, *views, kappa=cfg.pot.kappa if cfg.pot.enabled else None,
                                budgets=_budgets(cfg), bound=cfg.pot.bound)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        train_g = torch.Generator().manual_seed(args.seed + 1)
        rows = []
        for epoch in range(epochs + 1):
            if epoch % every == 0:
                row = {"epoch": epoch, "trained": f"pot={cfg.pot.enabled} bound={cfg.pot.bound}",
                       **_measure(model, views, budgets, batch, data, args.kappa, args.draws, g)}
                print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in _flat(row).items()}),
                      flush=True)
                rows.append(row)
            if epoch < epochs:
                model.train()
                out = step(batch, train_g)
                opt.zero_grad(set_to_none=True)
                out["loss"].backward()
                opt.step()
    if args.json:
        with args.json.open("a") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")


def _flat(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update({f"{k}.{kk}": vv for kk, vv in v.items() if kk in ("ratio_pot_over_nce", "cosine")})
        else:
            out[k] = v
    return out


def _measure(model, views, budgets, batch, data, kappa: float, draws: int, g: torch.Generator) -> dict:
    from concord_graph.contrast import NodeContrastStep

    params = [q for q in model.parameters() if q.requires_grad]
    result: dict = {}
    model.train()
    for bound in ("authors", "certified"):
        step = NodeContrastStep(model, *views, kappa=kappa, budgets=budgets, bound=bound, monitor=True)
        rows = []
        for _ in range(draws):
            state = g.get_state()
            out = step(batch, g)
            g_nce = _flat_grad((1 - kappa) * _nce_again(step, batch, state), params)
            g_pot = _flat_grad(out["loss"], params) - g_nce  # kappa times the POT term's gradient
            rows.append({"nce_grad": float(g_nce.norm()), "pot_grad": float(g_pot.norm()),
                         "cosine": float(torch.nn.functional.cosine_similarity(g_nce, g_pot, dim=0)),
                         "compactness_view": float(out["compactness_view"]),
                         f"compactness_{bound}": float(out[f"compactness_{bound}"])})
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        mean["ratio_pot_over_nce"] = mean["pot_grad"] / mean["nce_grad"]
        result[bound] = mean
    with torch.no_grad():
        model.eval()
        z = model.encoder.encode(data)
        zn = torch.nn.functional.normalize(z, dim=1)
        n = zn.shape[0]
        result["embedding_norm"] = float(z.norm(dim=1).mean())
        result["mean_pair_cosine"] = float((zn.sum(0).square().sum() - n) / (n * (n - 1)))  # over i != j
    return result


def _nce_again(step, batch, state: torch.Tensor) -> torch.Tensor:
    """InfoNCE of the same two views (the generator rewound to ``state``), with its graph."""
    g = torch.Generator()
    g.set_state(state)
    v1, v2 = step.view1(batch.graph, generator=g), step.view2(batch.graph, generator=g)
    enc = step.model.encoder
    return step.model.contrast_loss(enc.encode(v1), enc.encode(v2))


if __name__ == "__main__":
    main()
