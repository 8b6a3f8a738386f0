"""How well each POT score tracks the real node compactness of a trained model.

For a run folder of ``concord graph train`` (its ``config.yaml`` and ``checkpoints/model_0.pt``),
this draws the run's two views ``--views`` times, as in training, and for each view ``v`` with
the other view's weights :math:`w_i` computes

* the real compactness at the sampled view, :math:`h_i(A'_v) \\cdot w_i` (averaged over draws);
* its empirical worst case over ``--worst`` graphs drawn *inside* the budget (each node loses at
  most :math:`\\delta_i` in-edges) -- the quantity the certificate bounds;
* the authors' score, the certified bound (interval box) and the certified bound tightened by
  back-substitution.

It prints, per score, the mean, the share of nodes above 0, the Pearson and Spearman correlation
with the real compactness and with its worst case, and whether the certificate held (it must:
certified <= worst case for every node).

    python benchmarks/graph/pot_bound_quality.py runs/graph_reproduce/grace_seed0 --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main() -> None:
    from concord.run import load_config
    from concord.run.checkpoint import load_checkpoint
    from concord_graph.config import NodeRunConfig
    from concord_graph.data import load_graph
    from concord_graph.pot import (
        authors_compactness,
        certified_compactness,
        compactness,
        compactness_weights,
    )
    from concord_graph.pot.budget import edge_budget, sample_within_budget
    from concord_graph.train.node_evaluation import build_node_model
    from concord_graph.train.node_trainer import _budgets
    from concord_graph.train.views import build_view, edge_drop_rate

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="a run folder of concord graph train (GRACE / GCA, 2-layer GCN)")
    p.add_argument("--data-root", default="../shared/data")
    p.add_argument("--views", type=int, default=5, help="view pairs drawn (default 5)")
    p.add_argument("--worst", type=int, default=20, help="graphs inside the budget per view for the worst case")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="append the result as one JSON line here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    cfg = load_config(NodeRunConfig, args.run / "config.yaml", [f"data.root={args.data_root}"])
    data = load_graph(cfg.data.root, cfg.data.name, normalize_features=cfg.data.normalize_features)
    model = build_node_model(cfg, int(data.num_features), gather=False)
    model.load_state_dict(load_checkpoint(args.run / "checkpoints" / "model_0.pt")["model"])
    model.eval()
    enc = model.encoder
    views = build_view(cfg.augment.view1, "view1"), build_view(cfg.augment.view2, "view2")
    budgets = _budgets(cfg) or (edge_drop_rate(cfg.augment.view1, "view1"), edge_drop_rate(cfg.augment.view2, "view2"))
    g = torch.Generator().manual_seed(args.seed)
    n = int(data.num_nodes)
    sums: dict[str, list[np.ndarray]] = {}
    held = True
    with torch.no_grad():
        for _ in range(args.views):
            g1, g2 = views[0](data, generator=g), views[1](data, generator=g)
            z1, z2 = enc.encode(g1), enc.encode(g2)
            for view, z, other, budget in ((g1, z1, z2, budgets[0]), (g2, z2, z1, budgets[1])):
                w = compactness_weights(other)
                delta = edge_budget(data.edge_index, n, budget).delta
                # the sampled view is not always inside the budget: the worst case over its graphs
                worst = torch.full((n,), float("inf"))
                for _ in range(args.worst):
                    worst = torch.minimum(worst, compactness(enc(view.x, sample_within_budget(data.edge_index, delta, g)), w))
                scores = {
                    "real": compactness(z, w),
                    "worst": worst,
                    "authors": authors_compactness(enc, data.x, data.edge_index, view.edge_index, w, budget),
                    "certified_box": certified_compactness(enc, view.x, data.edge_index, w, budget,
                                                           back_substitute=False),
                    "certified_objective": certified_compactness(enc, view.x, data.edge_index, w, budget,
                                                                 back_substitute="objective"),
                    "certified": certified_compactness(enc, view.x, data.edge_index, w, budget),
                }
                held = held and all(bool((scores[k] <= worst + 1e-4).all())
                                    for k in ("certified_box", "certified_objective", "certified"))
                for k, v in scores.items():
                    sums.setdefault(k, []).append(v.numpy())
    real = np.concatenate(sums["real"])
    worst = np.concatenate(sums["worst"])
    result = {"run": str(args.run), "views": args.views, "worst_draws": args.worst, "certificate_held": held}
    print(f"{'score':<20} {'mean':>8} {'> 0':>7} {'r(real)':>8} {'rho(real)':>9} {'r(worst)':>9} {'gap to worst':>12}")
    for k in ("real", "worst", "authors", "certified_box", "certified_objective", "certified"):
        v = np.concatenate(sums[k])
        row = {"mean": float(v.mean()), "positive": float((v > 0).mean()),
               "pearson_real": float(np.corrcoef(v, real)[0, 1]), "spearman_real": _spearman(v, real),
               "pearson_worst": float(np.corrcoef(v, worst)[0, 1]), "gap_to_worst": float((worst - v).mean())}
        result[k] = row
        print(f"{k:<20} {row['mean']:8.3f} {row['positive']:7.1%} {row['pearson_real']:8.3f} "
              f"{row['spearman_real']:9.3f} {row['pearson_worst']:9.3f} {row['gap_to_worst']:12.3f}")
    print(f"certificate held for every node and draw: {held}")
    if args.json:
        with args.json.open("a") as fh:
            fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
