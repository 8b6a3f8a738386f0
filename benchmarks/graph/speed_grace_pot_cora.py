"""Speed on Cora (full batch, one process): a GRACE epoch against the matrix products it must do,
with a dense and a sparse first layer, and GRACE + POT's overhead for both bounds.

The *floor* is the time of the products no GRACE implementation can skip, measured here on
tensors of the run's shapes (N = 2,708 nodes, F = 1,433 features, hidden 256, embedding 128):

* both views' first layer :math:`X_v W_1` forward and its backward :math:`X_v^\\top G` (the
  gradient of :math:`W_1`; the features need none): four ``N x F x 256`` products;
* the ``2N x 2N`` similarity of the projected embeddings forward and its two backward products
  (:math:`G Z` and :math:`G^\\top Z`): three ``2N x 2N x 128`` products;
* one exponential over the ``2N x 2N`` logits.

An epoch (both views, NT-Xent, backward, Adam step; the shipped ``grace_cora.yaml``) is timed
against that floor, with the first layer dense (``encoder.sparse_input=false``) and sparse (the
shipped setting; Cora's features are 1.3 % non-zero, so the first layer's products nearly
vanish, and the *sparse floor* -- the floor without them -- is printed too). GRACE + POT epochs
(kappa 0.4, both views' bounds) are timed for ``pot.bound: authors`` and ``certified``. All
variants are interleaved epoch by epoch, so the machine's load hits them alike; medians.

    python benchmarks/graph/speed_grace_pot_cora.py --data-root ../shared/data --epochs 20
    THP_MEM_ALLOC_ENABLE=1 python benchmarks/graph/speed_grace_pot_cora.py ...   # see below

Every ``2N x 2N`` buffer (the logits, their gradient, the floor's similarity) is a fresh 117 MB
allocation whose pages the kernel faults in one 4 KiB page at a time, about as slow as an exp
over it on this machine. PyTorch's ``THP_MEM_ALLOC_ENABLE=1`` (read when torch starts) backs such
allocations with transparent huge pages; the figures are recorded with the variable's value, and
both are reported in ``benchmarks/graph/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from concord.run.data_root import default_data_root

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parents[1] / "plugins" / "graph" / "configs" / "grace_cora.yaml"


def _variant(data_root: str, overrides: list[str]):
    from concord.run import load_config
    from concord_graph.config import NodeRunConfig
    from concord_graph.contrast import NodeContrastStep, full_batch
    from concord_graph.data import load_graph
    from concord_graph.train.node_evaluation import build_node_model
    from concord_graph.train.node_trainer import _budgets
    from concord_graph.train.views import build_view

    cfg = load_config(NodeRunConfig, CONFIG, [f"data.root={data_root}", *overrides])
    data = load_graph(cfg.data.root, cfg.data.name)
    torch.manual_seed(0)
    model = build_node_model(cfg, data.num_features, gather=False)
    step = NodeContrastStep(model, build_view(cfg.augment.view1), build_view(cfg.augment.view2),
                            kappa=cfg.pot.kappa if cfg.pot.enabled else None, budgets=_budgets(cfg),
                            bound=cfg.pot.bound)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    return step, opt, full_batch(data), torch.Generator().manual_seed(0)


def _epoch(step, opt, batch, g) -> float:
    t0 = time.perf_counter()
    out = step(batch, g)
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    opt.step()
    return time.perf_counter() - t0


class _Floor:
    """The unavoidable products of one GRACE epoch, on tensors of its shapes."""

    def __init__(self, x: torch.Tensor, hidden: int, out: int) -> None:
        g = torch.Generator().manual_seed(0)
        n, f = x.shape
        self.x = x
        self.w1 = torch.randn(f, hidden, generator=g)
        self.grad_h = torch.randn(n, hidden, generator=g)
        self.z = torch.nn.functional.normalize(torch.randn(2 * n, out, generator=g), dim=1)
        self.grad_s = torch.randn(2 * n, 2 * n, generator=g)

    def first_layer(self) -> float:
        t0 = time.perf_counter()
        for _ in range(2):  # both views
            self.x @ self.w1
            self.x.t() @ self.grad_h
        return time.perf_counter() - t0

    def similarity(self) -> float:
        t0 = time.perf_counter()
        s = self.z @ self.z.t()
        torch.exp(s, out=s)
        self.grad_s @ self.z
        self.grad_s.t() @ self.z
        return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=default_data_root(),
                   help="the data sets' folder (default: $CONCORD_DATA, else data/)")
    p.add_argument("--epochs", type=int, default=20, help="timed epochs per variant (after 2 warm-up)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    variants = {
        "grace_dense": ["encoder.sparse_input=false"],
        "grace_sparse": [],
        "pot_authors": ["pot.enabled=true", "pot.bound=authors", "pot.kappa=0.4"],
        "pot_certified": ["pot.enabled=true", "pot.bound=certified", "pot.kappa=0.4"],
    }
    built = {k: _variant(args.data_root, v) for k, v in variants.items()}
    floor = _Floor(built["grace_dense"][2].graph.x, 256, 128)
    times: dict[str, list[float]] = {k: [] for k in [*variants, "floor_first_layer", "floor_similarity"]}
    for i in range(args.epochs + 2):
        rec = {k: _epoch(*v) for k, v in built.items()}
        rec["floor_first_layer"] = floor.first_layer()
        rec["floor_similarity"] = floor.similarity()
        if i >= 2:
            for k, v in rec.items():
                times[k].append(v)
    med = {k: statistics.median(v) for k, v in times.items()}
    dense_floor = med["floor_first_layer"] + med["floor_similarity"]
    sparse_floor = med["floor_similarity"]
    result = {
        "dataset": "Cora", "threads": args.threads, "timed_epochs": args.epochs,
        "THP_MEM_ALLOC_ENABLE": os.environ.get("THP_MEM_ALLOC_ENABLE"), "load_average": os.getloadavg(),
        "median_seconds": med,
        "floor_dense_seconds": dense_floor, "floor_sparse_seconds": sparse_floor,
        "grace_dense_over_floor": med["grace_dense"] / dense_floor,
        "grace_sparse_over_floor": med["grace_sparse"] / dense_floor,
        "grace_sparse_over_sparse_floor": med["grace_sparse"] / sparse_floor,
        "pot_authors_over_grace": med["pot_authors"] / med["grace_sparse"],
        "pot_certified_over_grace": med["pot_certified"] / med["grace_sparse"],
    }
    print(json.dumps(result, indent=2))
    print(f"floor: first layer (both views, fwd + bwd) {med['floor_first_layer']:.3f} s + similarity "
          f"(fwd, exp, 2 bwd) {med['floor_similarity']:.3f} s = {dense_floor:.3f} s")
    print(f"GRACE, dense first layer  {med['grace_dense']:.3f} s/epoch = {result['grace_dense_over_floor']:.2f} x floor")
    print(f"GRACE, sparse first layer {med['grace_sparse']:.3f} s/epoch = {result['grace_sparse_over_floor']:.2f} x "
          f"floor ({result['grace_sparse_over_sparse_floor']:.2f} x the floor without the first layer)")
    print(f"GRACE + POT (authors)     {med['pot_authors']:.3f} s/epoch = {result['pot_authors_over_grace']:.2f} x GRACE")
    print(f"GRACE + POT (certified)   {med['pot_certified']:.3f} s/epoch = "
          f"{result['pot_certified_over_grace']:.2f} x GRACE")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
