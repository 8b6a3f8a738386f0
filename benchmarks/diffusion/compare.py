"""iCT as published versus its known deviations and the original CT, on Fashion-MNIST.

Song & Dhariwal (2023) claim that each of iCT's choices improves 1-step sample quality at an
equal budget. This script trains the same UNet for the same steps and batch with

* ``ict``                      -- every choice as in the paper (the shipped config);
* ``per_element_huber``        -- pseudo-Huber of each pixel, averaged (the public ports'
                                  metric; registered as ``diffusion.pseudo_huber_per_element``);
* ``research_preconditioning`` -- c_in = 1/(sigma^2 + sigma_d^2), c_skip / c_out without sigma_min
                                  (and c_out without sigma_d), dropout replayed through the CPU
                                  generator -- diffusers' research script's choices;
* ``original_ct``              -- Song et al. (2023) consistency training: square-root
                                  curriculum s0=2, s1=150, uniform intervals and weights, EMA
                                  teacher mu0=0.9, squared L2 (per-element mean, as the authors'
                                  ``mean_flat``) in place of LPIPS,

by running ``concord diffusion train`` itself (one run folder per variant and seed under
``--runs``), appends one JSON line per run to ``results/compare.jsonl``, copies its 1- and
2-step grids to ``results/``, and prints the table (mean +- std over seeds).

    python benchmarks/diffusion/compare.py --data-root /usr/share/datasets/fashion-mnist --seeds 0
    python benchmarks/diffusion/compare.py --data-root /usr/share/datasets/fashion-mnist --seeds 0 \
        --steps 500 --batch-size 16 --n-samples 1000     # the reduced budget of the README's table
    python benchmarks/diffusion/compare.py --summarize

Runs already reported are skipped (the script can be stopped and started again); a killed run
continues with --resume.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parents[1] / "plugins" / "diffusion" / "configs" / "ict_fashion_mnist.yaml"
RESULTS = HERE / "results"

VARIANTS: dict[str, list[str]] = {
    "ict": [],
    "per_element_huber": ["loss.name=diffusion.pseudo_huber_per_element"],
    "research_preconditioning": ["ict.parameterization=research_script", "ict.dropout_sync=cpu"],
    "original_ct": ["ict.curriculum=ct", "ict.s0=2", "ict.s1=150", "ict.step_distribution=uniform",
                    "ict.weighting=uniform", "ict.teacher=ema", "ict.mu0=0.9", "loss.name=l2", "loss.mean=true"],
}
KEYS = ("fd_1step", "fd_2step", "precision_1step", "recall_1step", "precision_2step", "recall_2step")


def run_one(variant: str, seed: int, args: argparse.Namespace) -> dict:
    tag = f"{variant}_seed{seed}_{args.steps}x{args.batch_size}"
    out = Path(args.runs) / tag
    sets = [f"data.root={args.data_root}", f"seed={seed}", f"train.steps={args.steps}",
            f"train.batch_size={args.batch_size}", f"train.threads={args.threads}",
            f"eval.n_samples={args.n_samples}", *VARIANTS[variant]]
    cmd = [sys.executable, "-m", "concord_diffusion.cli", "train", str(CONFIG), "-o", str(out)]
    for s in sets:
        cmd += ["--set", s]
    if (out / "checkpoints" / "last.pt").exists() and not (out / "report.json").exists():
        cmd.append("--resume")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CONCORD_PROGRESS": "0"}
    t0 = time.perf_counter()
    with open(out.parent / f"{out.name}.log", "a") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    report = json.loads((out / "report.json").read_text())
    for steps in (1, 2):
        shutil.copy(out / f"samples_{steps}step.png", RESULTS / f"{tag}_{steps}step.png")
    shutil.copy(out / "loss.png", RESULTS / f"{tag}_loss.png")
    return {"variant": variant, "seed": seed, "steps": args.steps, "batch_size": args.batch_size,
            "overrides": VARIANTS[variant], "wall_seconds": time.perf_counter() - t0,
            **{k: report[k] for k in (*KEYS, "final_loss", "final_num_levels", "seconds_per_step",
                                      "feature_net_accuracy", "fd_train_vs_reference", "eval_samples")},
            "run": str(out)}


def _cell(rows: list[dict], key: str, digits: int = 2) -> str:
    import statistics

    v = [r[key] for r in rows]
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"


def summarize(path: Path) -> str:
    """One table per budget (steps x batch, evaluation samples): rows of different budgets are
    never averaged together."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    budgets = sorted({(r["steps"], r["batch_size"], r["eval_samples"]) for r in rows})
    out = []
    for steps, batch, n_eval in budgets:
        rb = [r for r in rows if (r["steps"], r["batch_size"], r["eval_samples"]) == (steps, batch, n_eval)]
        lines = [f"budget: {steps} steps x batch {batch}, {n_eval} evaluation samples per sampler", "",
                 "| variant | seeds | FD 1-step | FD 2-step | precision 1-step | recall 1-step | s / step |",
                 "|---|---|---|---|---|---|---|"]
        for variant in VARIANTS:
            rs = [r for r in rb if r["variant"] == variant]
            if not rs:
                continue
            lines.append(f"| {variant} | {','.join(str(r['seed']) for r in rs)} | "
                         f"{_cell(rs, 'fd_1step')} | {_cell(rs, 'fd_2step')} | {_cell(rs, 'precision_1step', 3)} | "
                         f"{_cell(rs, 'recall_1step', 3)} | {_cell(rs, 'seconds_per_step')} |")
        lines.append(f"\nreal vs real (training images against the test set, same feature net): "
                     f"FD {rb[0]['fd_train_vs_reference']:.2f}; feature net held-out accuracy "
                     f"{rb[0]['feature_net_accuracy']:.3f}")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def main() -> None:
    from concord_diffusion.train.config import default_images_root

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", default=default_images_root(),
                   help="the Fashion-MNIST idx folder (default: $CONCORD_DATA/fashion-mnist, else "
                        "data/fashion-mnist; Debian's dataset-fashion-mnist: /usr/share/datasets/fashion-mnist)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-samples", type=int, default=5000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", default=str(HERE.parents[1] / "runs" / "benchmark-diffusion"))
    p.add_argument("--summarize", action="store_true")
    args = p.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = RESULTS / "compare.jsonl"
    if not args.summarize:
        Path(args.runs).mkdir(parents=True, exist_ok=True)
        done = set()
        if results.exists():
            done = {(r["variant"], r["seed"], r["steps"], r["batch_size"], r["eval_samples"]) for r in map(json.loads, results.read_text().splitlines())}
        for seed in args.seeds:
            for variant in args.variants:
                if (variant, seed, args.steps, args.batch_size, args.n_samples) in done:
                    continue
                row = run_one(variant, seed, args)
                with open(results, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"{variant} seed {seed}: FD1 {row['fd_1step']:.2f} FD2 {row['fd_2step']:.2f}", flush=True)
    table = summarize(results)
    print(table)
    (RESULTS / "compare.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
