"""Training and evaluation throughput on Beauty (CPU), with the shipped configs.

    python benchmarks/sequence/throughput.py --data-root ../shared/data --threads 1 --batches 40

Training: sequences per second over ``--batches`` batches of 256 after 3 warm-up batches, for
each method's full step (MCLRec: the official three updates per batch). Evaluation: users ranked
per second over all items (full ranking of the test split, all users), with and without the
user's earlier items excluded. Results go to ``--out`` (JSON) and stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from concord.run import load_config
from concord_sequence.data.loading import load_dataset
from concord_sequence.evaluation.ranking import split_ranks
from concord_sequence.models import SASRec
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.methods import build_method

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", required=True)
    p.add_argument("--methods", nargs="+", default=["sasrec", "cl4srec", "duorec", "mclrec"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--out", default="runs/throughput.json")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   help="config override for every method, e.g. model.length_buckets=false")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    import os

    results: dict[str, object] = {"threads": args.threads, "torch": torch.__version__,
                                  "overrides": args.overrides,
                                  "load_average_at_start": os.getloadavg()}
    data = None
    model = None
    for method in args.methods:
        cfg = load_config(SequenceConfig, ROOT / "plugins/sequence/configs" / f"{method}_beauty.yaml",
                          [f"data.root={args.data_root}", *args.overrides])
        if data is None:
            data = load_dataset(root=cfg.data.root, name=cfg.data.name, max_len=cfg.data.max_len).split
        torch.manual_seed(0)
        m = cfg.model
        model = SASRec(data.n_items, max_len=cfg.data.max_len, hidden=m.hidden, layers=m.layers, heads=m.heads,
                       inner=m.inner, hidden_dropout=m.hidden_dropout, attn_dropout=m.attn_dropout,
                       length_buckets=m.length_buckets)
        runner = build_method(cfg, model, data, torch.Generator().manual_seed(0), torch.device("cpu"))
        perm = np.random.default_rng(0).permutation(len(data.train_user))
        bs = cfg.train.batch_size
        for b in range(3):
            runner.step(perm[b * bs : (b + 1) * bs])
        t0 = time.perf_counter()
        for b in range(3, 3 + args.batches):
            runner.step(perm[b * bs : (b + 1) * bs])
        dt = time.perf_counter() - t0
        results[f"train_{method}_seq_per_s"] = args.batches * bs / dt
        results[f"train_{method}_epoch_seconds_estimate"] = len(data.train_user) / (args.batches * bs / dt)
        print(f"train {method:8s} {args.batches * bs / dt:8.0f} seq/s  "
              f"(one epoch of {len(data.train_user)} sequences ~ {len(data.train_user) / (args.batches * bs / dt):.0f} s)",
              flush=True)
    assert data is not None and model is not None
    for exclude in (True, False):
        t0 = time.perf_counter()
        ranks = split_ranks(model, data, "test", exclude_history=exclude, batch_size=1024)
        dt = time.perf_counter() - t0
        key = f"eval_users_per_s_exclude_history_{exclude}"
        results[key] = len(ranks) / dt
        print(f"eval  full ranking over {data.n_items} items, exclude_history={exclude}: "
              f"{len(ranks) / dt:8.0f} users/s ({len(ranks)} users in {dt:.1f} s)", flush=True)
    results["load_average_at_end"] = os.getloadavg()
    print(f"load average (1, 5, 15 min) at start {results['load_average_at_start']}, at end {results['load_average_at_end']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
