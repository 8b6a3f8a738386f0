"""Reproduction: GRACE vs GRACE + POT (the authors' score) vs GRACE + POT (certified) on Cora.

Every (setting, case, seed) trains one model with ``concord graph train`` itself (one run folder
under ``--runs``, with its metrics, plots, checkpoints and report) and is then scored under three
protocols from the same frozen embeddings (``checkpoints/model_0.pt``):

* ``grace`` -- the GRACE paper's: a random 10 % trains a logistic regression (C by 5-fold CV),
  the other 90 % test it, 3 splits (the run's own ``report.json``);
* ``public`` -- the POT paper's: Planetoid's public split (140 / 500 / 1000), the POT authors'
  Adam-trained probe, selected on the validation mask, reported on the test mask
  (:mod:`pot_public_probe`); ``public_swapped`` is the same with the authors' swap (selected on
  the test mask, reported on the validation mask), to show what their numbers measure.

Settings: ``grace`` is the GRACE authors' Cora setting (``plugins/graph/configs/grace_cora.yaml``:
edge drops 0.2 / 0.4, feature masks 0.3 / 0.4, tau 0.4); ``potgrace`` is the POT authors'
GRACE-Cora setting (their ``GRACE/train.py`` defaults over ``config.yaml``: edge drops 0.4 / 0.3,
no feature masking, tau 0.9). Both: 2 x 128 GCN, lr 5e-4, weight decay 1e-5, 200 epochs, POT with
kappa 0.4 (their README) and each view's budget = its edge-drop rate. One JSON line per run goes
to ``--results``; the summary prints mean +- std over seeds per configuration and protocol and
the paired per-seed difference to GRACE.

    python benchmarks/graph/reproduce_grace_pot.py --data-root ../shared/data --seeds 0 1 2 3 4
    python benchmarks/graph/reproduce_grace_pot.py --summarize     # the table from --results
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
sys.path.insert(0, str(HERE))
CONFIG = HERE.parents[1] / "plugins" / "graph" / "configs" / "grace_cora.yaml"

SETTINGS: dict[str, list[str]] = {
    "grace": [],
    "potgrace": ["augment.view1=[{name: graph.drop_edges, p: 0.4}]",
                 "augment.view2=[{name: graph.drop_edges, p: 0.3}]", "loss.temperature=0.9"],
}
CASES: dict[str, list[str]] = {
    "grace": [],
    "pot_authors": ["pot.enabled=true", "pot.bound=authors", "pot.kappa=0.4"],
    "pot_certified": ["pot.enabled=true", "pot.bound=certified", "pot.kappa=0.4"],
}
PROTOCOLS = ("grace", "public", "public_swapped")


def _public_scores(run: Path, data_root: str, seed: int) -> dict[str, float]:
    import torch
    from pot_public_probe import pot_probe

    from concord.run.checkpoint import load_checkpoint
    from concord_graph.data import load_graph

    data = load_graph(data_root, "Cora")
    z = load_checkpoint(run / "checkpoints" / "model_0.pt")["embeddings"]
    torch.manual_seed(seed)
    masks = data.train_mask, data.val_mask, data.test_mask
    return {"public": pot_probe(z, data.y, *masks, seed=seed),
            "public_swapped": pot_probe(z, data.y, *masks, seed=seed, swapped=True)}


def _last_monitor(run: Path) -> dict[str, float]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    rows = [r for r in rows if "compactness_certified" in r]
    keys = ("compactness_view", "compactness_authors", "compactness_certified", "certified_positive",
            "corr_authors_view", "corr_certified_view", "pot")
    return {k: rows[-1][k] for k in keys if rows and k in rows[-1]}


def run_one(setting: str, case: str, seed: int, data_root: str, threads: int, runs: Path,
            extra: list[str]) -> dict:
    out = runs / f"{setting}_{case}_seed{seed}"
    sets = [f"data.root={data_root}", f"seed={seed}", f"train.threads={threads}", "eval.plot=pca",
            "pot.monitor_every=10", *SETTINGS[setting], *CASES[case], *extra]
    cmd = [sys.executable, "-m", "concord_graph.cli", "train", str(CONFIG), "--output", str(out)]
    for item in sets:
        cmd += ["--set", item]
    if (out / "config.yaml").exists():
        cmd.append("--resume")  # continue (or just re-report) an earlier run of this case and seed
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    report = json.loads((out / "report.json").read_text())
    return {"setting": setting, "case": case, "seed": seed, "epochs": report["epochs"], "overrides": sets[3:],
            "grace": report["test_acc_mean"], **_public_scores(out, data_root, seed),
            "epoch_seconds_mean": report["epoch_seconds_mean"], "wall_seconds": wall,
            "final": _last_monitor(out), "run": str(out)}


def _paired_test(d: np.ndarray) -> str:
    """Two-sided paired t-test and exact sign test of per-seed differences (scipy), as text."""
    if len(d) < 3 or not d.any():
        return ""
    from scipy import stats

    t = stats.ttest_1samp(d, 0.0)
    nonzero = d[d != 0]
    sign = stats.binomtest(int((nonzero > 0).sum()), len(nonzero)).pvalue if len(nonzero) else 1.0
    return f", paired t p = {t.pvalue:.3f}, sign test p = {sign:.3f}"


def summarize(path: Path) -> None:
    """Mean +- std (population, ddof 0) over seeds per configuration and protocol, and the
    paired per-seed differences to GRACE with a paired t-test and a sign test."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    table: dict[tuple[str, str], dict[int, dict]] = {}
    for r in rows:
        table.setdefault((r["setting"], r["case"]), {})[r["seed"]] = r
    for setting in SETTINGS:
        cases = [c for c in CASES if (setting, c) in table]
        if not cases:
            continue
        print(f"\n== setting {setting} ==")
        print(f"{'case':<15} {'seeds':<17} " + " ".join(f"{p:>17}" for p in PROTOCOLS) + "   s/epoch")
        for case in cases:
            runs = table[(setting, case)]
            cells = []
            for p in PROTOCOLS:
                a = np.array([runs[s][p] for s in sorted(runs)]) * 100
                cells.append(f"{a.mean():6.2f} +- {a.std():4.2f}")
            secs = np.mean([r["epoch_seconds_mean"] for r in runs.values()])
            print(f"{case:<15} {sorted(runs)!s:<17} " + " ".join(f"{c:>17}" for c in cells) + f"   {secs:.2f}")
        base = table.get((setting, "grace"))
        for case in cases:
            if case == "grace" or base is None:
                continue
            common = sorted(set(base) & set(table[(setting, case)]))
            for p in PROTOCOLS:
                d = np.array([table[(setting, case)][s][p] - base[s][p] for s in common]) * 100
                verdict = "gain" if d.mean() > 0 and (d > 0).all() else ("loss" if d.mean() < 0 and (d < 0).all()
                                                                          else "no consistent difference")
                print(f"  {case} - grace, {p:<14} seeds {common}: {d.mean():+.2f} +- {d.std():.2f} "
                      f"(per seed {', '.join(f'{v:+.2f}' for v in d)}){_paired_test(d)} -> {verdict}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=default_data_root(),
                   help="the data sets' folder (default: $CONCORD_DATA, else data/)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    p.add_argument("--threads", type=int, default=1,
                   help="torch / scikit-learn threads (default 1: on a shared 2-core machine more threads spin-wait)")
    p.add_argument("--results", type=Path, default=HERE / "results" / "grace_pot_cora.jsonl")
    p.add_argument("--runs", type=Path, default=Path("runs") / "graph_reproduce",
                   help="parent folder of the run folders (default: runs/graph_reproduce)")
    p.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                   help="extra config override for every run")
    p.add_argument("--summarize", action="store_true", help="only print the table of --results")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)  # the probes in this process too (idle threads spin-wait)
    if not args.summarize:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:  # seed-major: an interrupted reproduction leaves complete pairs
            for setting in args.settings:
                for case in args.cases:
                    row = run_one(setting, case, seed, args.data_root, args.threads, args.runs, args.extra)
                    print(json.dumps(row), flush=True)
                    with args.results.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
    summarize(args.results)


if __name__ == "__main__":
    main()
