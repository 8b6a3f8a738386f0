"""Reproduce MCLRec's Table 3 (Beauty, full ranking) with the shipped configs, at a set budget.

    python benchmarks/sequence/reproduce.py --data-root ../shared/data --epochs 4 \
        --methods sasrec cl4srec duorec mclrec --out runs/reproduce

Each method runs ``concord sequence train plugins/sequence/configs/<method>_beauty.yaml`` in its
own process, one after another, with ``--set train.epochs=N`` (and ``train.threads``), and the
report.json figures are collected next to the paper's into ``<out>/results.json`` and printed
as a table. Where the CPU budget forbids the papers' training length the epochs are equal for
all methods and said so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAPER = {  # MCLRec (Qin et al., SIGIR 2023) Table 3, Beauty, full ranking: HR@10, NDCG@10
    "sasrec": (0.0624, 0.0342), "cl4srec": (0.0642, 0.0345),
    "duorec": (0.0825, 0.0425), "mclrec": (0.0871, 0.0446),
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--methods", nargs="+", default=list(PAPER))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/reproduce")
    p.add_argument("--set", dest="overrides", action="append", default=[])
    p.add_argument("--continue-from", type=int, default=None, metavar="E",
                   help="start each method from its finished <method>_e<E> run (copied, then --resume "
                        "to --epochs): the budget is the only key a resume may change")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for method in args.methods:
        run = out / f"{method}_e{args.epochs}"
        if args.continue_from is not None and not run.exists():
            import shutil

            shutil.copytree(out / f"{method}_e{args.continue_from}", run)
            for name in ("report.json", "run_summary.json", "evaluation.json"):
                (run / name).unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "concord_sequence.cli", "train",
               str(ROOT / "plugins/sequence/configs" / f"{method}_beauty.yaml"),
               "--set", f"data.root={args.data_root}", "--set", f"train.epochs={args.epochs}",
               "--set", f"train.threads={args.threads}", "-o", str(run)]
        for o in args.overrides:
            cmd += ["--set", o]
        if (run / "checkpoints" / "last.pt").exists() and not (run / "report.json").exists():
            cmd.append("--resume")
        t0 = time.time()
        if not (run / "report.json").exists():
            subprocess.run(cmd, check=True)
        report = json.loads((run / "report.json").read_text())
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        results[f"{method}_e{args.epochs}"] = {
            "method": method, "epochs": args.epochs, "report": report,
            "wall_seconds": time.time() - t0,
            "train_seq_per_s_mean": sum(r["train_seq_per_s"] for r in rows) / max(len(rows), 1),
            "valid_ndcg@10_by_epoch": [r["valid_ndcg@10"] for r in rows],
            "paper_hr@10": PAPER[method][0], "paper_ndcg@10": PAPER[method][1],
        }
        results_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'run':<16}{'epochs':>7}{'HR@10':>9}{'NDCG@10':>9}{'paper HR@10':>13}{'paper NDCG@10':>15}{'best ep':>9}")
    for key, r in results.items():
        rep = r["report"]
        print(f"{key:<16}{r['epochs']:>7}{rep['test_hr@10']:>9.4f}{rep['test_ndcg@10']:>9.4f}"
              f"{r['paper_hr@10']:>13.4f}{r['paper_ndcg@10']:>15.4f}{rep['best_epoch']:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
