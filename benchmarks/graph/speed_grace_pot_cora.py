"""Speed: time per epoch of GRACE and of GRACE + POT on Cora (full batch), and their ratio.

Both use the shipped configs (``grace_cora.yaml`` / ``grace_pot_cora.yaml``: the same model,
views and optimiser; POT adds the certified-compactness bound of both views). Epochs of the two
are interleaved in one process so that a change in the machine's load hits both alike; each
variant's peak resident memory is measured in a separate short subprocess.

    python benchmarks/graph/speed_grace_pot_cora.py --data-root ../shared/data --epochs 30
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from concord.run.data_root import default_data_root

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parents[1] / "plugins" / "graph" / "configs"


def _setup(data_root: str, pot: bool):
    from concord.run import load_config
    from concord_graph.config import NodeRunConfig
    from concord_graph.contrast import NodeContrastStep, full_batch
    from concord_graph.data import load_graph
    from concord_graph.train.node_trainer import _budgets, _build_model
    from concord_graph.train.views import build_view

    cfg = load_config(NodeRunConfig, CONFIGS / ("grace_pot_cora.yaml" if pot else "grace_cora.yaml"),
                      [f"data.root={data_root}"])
    data = load_graph(cfg.data.root, cfg.data.name)
    torch.manual_seed(0)
    model = _build_model(cfg, data.num_features, gather=False)
    step = NodeContrastStep(model, build_view(cfg.augment.view1), build_view(cfg.augment.view2),
                            kappa=cfg.pot.kappa if pot else None, budgets=_budgets(cfg))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    return step, opt, full_batch(data), torch.Generator().manual_seed(0)


def _epoch(step, opt, batch, g) -> float:
    t0 = time.perf_counter()
    out = step(batch, g)
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    opt.step()
    return time.perf_counter() - t0


def _peak_rss_mib() -> float:
    """This process's peak resident memory (``VmHWM``; unlike ``ru_maxrss`` it is not inherited
    from the process that started this one)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=default_data_root(),
                   help="the data sets' folder (default: $CONCORD_DATA, else data/)")
    p.add_argument("--epochs", type=int, default=30, help="timed epochs per variant (after 2 warm-up)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--memory-of", choices=["plain", "pot"], help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_of:  # subprocess mode: 3 epochs of one variant, report the peak RSS
        step, opt, batch, g = _setup(args.data_root, args.memory_of == "pot")
        for _ in range(3):
            _epoch(step, opt, batch, g)
        print(json.dumps({"peak_rss_mib": _peak_rss_mib()}))
        return
    plain, pot = _setup(args.data_root, False), _setup(args.data_root, True)
    for _ in range(2):
        _epoch(*plain), _epoch(*pot)
    tp, tq = [], []
    for _ in range(args.epochs):
        tp.append(_epoch(*plain))
        tq.append(_epoch(*pot))
    mem = {}
    for v in ("plain", "pot"):
        out = subprocess.run([sys.executable, __file__, "--data-root", args.data_root, "--threads", str(args.threads),
                              "--memory-of", v], check=True, capture_output=True, text=True)
        mem[v] = json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mib"]
    mp, mq = statistics.median(tp), statistics.median(tq)
    result = {
        "dataset": "Cora", "threads": args.threads, "timed_epochs": args.epochs,
        "grace_epoch_seconds_median": mp, "grace_pot_epoch_seconds_median": mq,
        "grace_epoch_seconds_mean": statistics.mean(tp), "grace_pot_epoch_seconds_mean": statistics.mean(tq),
        "ratio_pot_over_plain_median": mq / mp, "ratio_pot_over_plain_mean": statistics.mean(tq) / statistics.mean(tp),
        "grace_peak_rss_mib": mem["plain"], "grace_pot_peak_rss_mib": mem["pot"],
    }
    print(json.dumps(result, indent=2))
    print(f"GRACE {mp:.3f} s/epoch, GRACE+POT {mq:.3f} s/epoch (medians of {args.epochs}), "
          f"ratio POT/plain {mq / mp:.2f}; peak RSS {mem['plain']:.0f} / {mem['pot']:.0f} MiB")


if __name__ == "__main__":
    main()
