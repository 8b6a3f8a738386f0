"""Reproduction: GRACE on Cora under the ``grace`` protocol, with and without POT.

GRACE (Zhu et al. 2020) reports 83.3 +- 0.4 % accuracy on Cora (random 10% train / 90% test,
logistic regression). This script trains the shipped configs ``grace_cora.yaml`` and
``grace_pot_cora.yaml`` (identical except POT) for the given seeds by running
``concord graph train`` itself (one run folder per config and seed under ``--runs``, with its
metrics, plots, checkpoints and report), appends one JSON line per (config, seed) to
``--results`` and prints the mean +- std over seeds and the POT - GRACE difference.

    python benchmarks/graph/reproduce_grace_pot.py --data-root ../shared/data --seeds 0 1 2 3 4
    python benchmarks/graph/reproduce_grace_pot.py --summarize     # table from the results file

Each (config, seed) is one process-independent unit, so long runs can be split across calls.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from concord.run.data_root import default_data_root

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parents[1] / "plugins" / "graph" / "configs"
CASES = {"grace": "grace_cora.yaml", "grace_pot": "grace_pot_cora.yaml"}


def run_one(case: str, seed: int, data_root: str, epochs: int | None, threads: int, runs: Path,
            overrides: list[str] = (), tag: str = "") -> dict:
    out = runs / f"{tag}{case}_seed{seed}"
    cmd = [sys.executable, "-m", "concord_graph.cli", "train", str(CONFIGS / CASES[case]),
           "--set", f"data.root={data_root}", "--set", f"seed={seed}", "--set", f"train.threads={threads}",
           "--output", str(out)]
    if epochs is not None:
        cmd += ["--set", f"train.epochs={epochs}"]
    for item in overrides:
        cmd += ["--set", item]
    if (out / "config.yaml").exists():
        cmd.append("--resume")  # continue (or just re-report) an earlier run of this case and seed
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    report = json.loads((out / "report.json").read_text())
    return {"case": f"{tag}{case}", "seed": seed, "epochs": report["epochs"], "threads": threads,
            "overrides": list(overrides),
            "test_acc_mean": report["test_acc_mean"], "test_acc_splits_std": report["test_acc_std"],
            "epoch_seconds_mean": report["epoch_seconds_mean"], "wall_seconds": wall, "run": str(out)}


def summarize(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_case: dict[str, dict[int, float]] = {}
    for r in rows:
        by_case.setdefault(r["case"], {})[r["seed"]] = r["test_acc_mean"]
    print(f"{'config':<12} {'seeds':<16} {'accuracy (mean +- std over seeds)':<36} epoch s")
    for case, accs in by_case.items():
        a = np.array(list(accs.values())) * 100
        secs = np.mean([r["epoch_seconds_mean"] for r in rows if r["case"] == case])
        print(f"{case:<12} {sorted(accs)!s:<16} {a.mean():6.2f} +- {a.std():4.2f} %{'':<20} {secs:.2f}")
    for plain in [c for c in by_case if c.endswith("grace")]:
        pot = plain + "_pot"
        if pot not in by_case:
            continue
        common = sorted(set(by_case[plain]) & set(by_case[pot]))
        d = np.array([by_case[pot][s] - by_case[plain][s] for s in common]) * 100
        print(f"{pot} - {plain} on seeds {common}: {d.mean():+.2f} +- {d.std():.2f} points "
              f"(per seed: {', '.join(f'{v:+.2f}' for v in d)})")
    print("GRACE paper (Zhu et al. 2020, Table 2), Cora: 83.3 +- 0.4")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=default_data_root(),
                   help="the data sets' folder (default: $CONCORD_DATA, else data/)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--epochs", type=int, default=None, help="override the configs' 200 epochs")
    p.add_argument("--threads", type=int, default=1,
                   help="torch / scikit-learn threads (default 1: on a shared 2-core machine more threads spin-wait)")
    p.add_argument("--results", type=Path, default=HERE / "results" / "grace_pot_cora.jsonl")
    p.add_argument("--runs", type=Path, default=Path("runs") / "graph_reproduce",
                   help="parent folder of the run folders (default: runs/graph_reproduce)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="extra config override for both configs (a variant of the setting)")
    p.add_argument("--tag", default="", help="prefix of the variant's case names and run folders")
    p.add_argument("--summarize", action="store_true", help="only print the table of --results")
    args = p.parse_args()
    if not args.summarize:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        for case in args.cases:
            for seed in args.seeds:
                row = run_one(case, seed, args.data_root, args.epochs, args.threads, args.runs,
                              args.overrides, args.tag)
                print(json.dumps(row), flush=True)
                with args.results.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
    summarize(args.results)


if __name__ == "__main__":
    main()
