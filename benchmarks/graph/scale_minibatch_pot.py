"""Scale: GRACE + POT in mini-batch mode on a generated graph of 100,000 nodes and 1,000,000 edges.

The graph is :func:`concord_graph.data.sbm_graph` (10 classes, homophily 0.8, 64 features), with
``--edges`` directed edges as PyG counts them (``data.num_edges``; each undirected pair is two).
One epoch walks every node once as a seed, ``--batch-size`` seeds per step, each step on the
exact 2-hop subgraph of its seeds (:class:`concord_graph.contrast.NodeBatches`); the contrast is
over the seeds only (NT-Xent in blocks), POT certifies every seed of both views within its
view's edge-drop budget. Printed: time per epoch, peak resident memory of the process, the mean
subgraph size, and what the dense reference implementation would need at this size.

    python benchmarks/graph/scale_minibatch_pot.py --epochs 1
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch


def _rss_mib() -> float:
    """Peak resident memory of this process so far (``VmHWM``, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=100_000)
    p.add_argument("--edges", type=int, default=1_000_000, help="directed edges (PyG's num_edges)")
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--no-pot", action="store_true", help="plain GRACE (for comparison)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from concord_graph.contrast import GRACE, NodeBatches, NodeContrastStep
    from concord_graph.data import sbm_graph
    from concord_graph.nn import GCNEncoder
    from concord_graph.train.views import build_view

    g = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    # draw a little more than half the target: symmetrising doubles, de-duplication removes a few
    data = sbm_graph(num_nodes=args.nodes, num_classes=10, num_edges=int(args.edges * 0.5025),
                     homophily=0.8, num_features=64, generator=g)
    gen_s = time.perf_counter() - t0
    rss_data = _rss_mib()
    torch.manual_seed(args.seed)
    model = GRACE(GCNEncoder(64, 64, hidden_channels=128, num_layers=2), projection_channels=64,
                  temperature=0.5, block_size=1024)
    views = [build_view([{"name": "graph.drop_edges", "p": p}, {"name": "graph.mask_features", "p": 0.2}])
             for p in (0.2, 0.4)]
    step = NodeContrastStep(model, *views, kappa=None if args.no_pot else 0.5, budgets=(0.2, 0.4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order, aug = torch.Generator().manual_seed(args.seed), torch.Generator().manual_seed(args.seed + 1)
    epoch_s, sub_nodes, sub_edges, losses = [], [], [], []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        batches = NodeBatches(data, args.batch_size, 2, order)
        for batch in batches:
            out = step(batch, aug)
            opt.zero_grad(set_to_none=True)
            out["loss"].backward()
            opt.step()
            sub_nodes.append(batch.graph.num_nodes)
            sub_edges.append(batch.graph.edge_index.shape[1])
            losses.append(float(out["loss"]))
        epoch_s.append(time.perf_counter() - t0)
    n = args.nodes
    result = {
        "method": "GRACE" if args.no_pot else "GRACE+POT",
        "nodes": n, "edges": int(data.num_edges), "batch_size": args.batch_size, "steps_per_epoch": len(batches),
        "threads": args.threads, "epochs": args.epochs,
        "epoch_seconds": epoch_s, "step_seconds_mean": sum(epoch_s) / len(sub_nodes),
        "peak_rss_mib": _rss_mib(), "rss_after_data_mib": rss_data, "graph_generation_seconds": gen_s,
        "subgraph_nodes_mean": sum(sub_nodes) / len(sub_nodes), "subgraph_edges_mean": sum(sub_edges) / len(sub_edges),
        "loss_first_last": [losses[0], losses[-1]],
        "dense_reference_gib": {
            "one_n_by_n_float32": n * n * 4 / 2**30,
            "pot_reference_A_upper_A_lower_An_float32": 3 * n * n * 4 / 2**30,
            "grace_full_batch_similarities_float32": 2 * n * n * 4 / 2**30,
        },
    }
    print(json.dumps(result, indent=2))
    print(f"{result['method']}: {epoch_s[-1]:.1f} s/epoch ({len(batches)} steps of {args.batch_size} seeds), "
          f"peak RSS {result['peak_rss_mib']:.0f} MiB; the dense reference needs >= "
          f"{result['dense_reference_gib']['pot_reference_A_upper_A_lower_An_float32']:.0f} GiB")


if __name__ == "__main__":
    main()
