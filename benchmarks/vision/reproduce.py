"""PixPro's claim on CamVid at this machine's budget: dense pretraining transfers better to
segmentation than instance-level pretraining.

    python benchmarks/vision/reproduce.py --data-root ../shared/data --seeds 0

1. Pretrain ResNet-18 on CamVid's train + val images without labels with PixPro, PixContrast,
   DenseCL and the BYOL-style baseline -- same iterations, batch, crops and optimiser
   (``plugins/vision/configs/<method>_r18_camvid.py``), one pretraining per method and seed.
2. Fine-tune FCN-R18 (``fcn_r18_camvid.py``) from each backbone and from random weights on
   10% and on 100% of the training labels; test mIoU on the 233 test images (whole 240 x 180
   images).

The default budget fits these 2 shared CPU cores (one torch thread per run; see the plugin
README for the measured step times): 300 pretraining iterations of 16 images (96 px crops,
3 x 3 C5 maps), and 200 fine-tuning iterations of 8 crops of 128 px with the backbone at output
stride 16 (``FINETUNE_BUDGET``; the shipped config's d8 costs 2-3 times more per step), no
validation during training (not even at the last iteration: the test split decides). The
recorded run (``benchmarks/vision/README.md``) cut this further, to 60 and 80 iterations and 10%
of the labels, to fit about 50 CPU-minutes.
Every run goes through the ``concord vision`` CLI, one at a time, into
``benchmarks/vision/results/runs/``; a run whose ``report.json`` exists is not repeated, so the
script can be stopped and started again. The table lands in ``results/reproduction.json`` and
``results/reproduction.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parents[1] / "plugins" / "vision" / "configs"
METHODS = ("byol", "pixpro", "densecl", "pixcontrast")
FINETUNE_BUDGET = [
    "model.backbone.strides=[1,2,2,1]", "model.backbone.dilations=[1,1,1,2]",
    "train_dataloader.dataset.pipeline.3.crop_size=[128,128]", "model.data_preprocessor.size=[128,128]",
    "train_cfg.val_interval=1000000",
    "val_dataloader=None", "val_cfg=None", "val_evaluator=None",  # no validation: the test split decides
]
ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CONCORD_PROGRESS": "0"}


def _run(argv: list[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with open(log, "w") as fh:
        code = subprocess.call([sys.executable, "-m", "concord_vision.cli", *argv], stdout=fh,
                               stderr=subprocess.STDOUT, env={**os.environ, **ENV})
    print(f"  {'ok' if code == 0 else f'FAILED ({code})'} in {time.monotonic() - t0:.0f} s: {log}", flush=True)
    if code != 0:
        raise SystemExit(f"run failed; see {log}")


def pretrain(method: str, seed: int, args) -> Path:
    out = args.runs / f"pretrain_{method}_s{seed}"
    if not (out / "report.json").exists():
        print(f"pretrain {method} seed {seed}", flush=True)
        if out.exists():
            import shutil

            shutil.rmtree(out)
        _run(["pretrain", str(CONFIGS / f"{method}_r18_camvid.py"), "--output", str(out),
              "--set", f"data.root={args.data_root}", "--set", f"train.steps={args.pretrain_steps}",
              "--set", f"seed={seed}", *args.pretrain_set], out.with_suffix(".log"))
    return out / "backbone.pth"


def finetune(init: str, backbone: Path | None, fraction: float, seed: int, args) -> dict:
    out = args.runs / f"finetune_{init}_f{int(fraction * 100)}_s{seed}"
    if not (out / "report.json").exists():
        print(f"finetune from {init}, {fraction:.0%} labels, seed {seed}", flush=True)
        if out.exists():
            import shutil

            shutil.rmtree(out)
        init_set = (f"model.backbone.init_cfg.checkpoint={backbone}" if backbone is not None
                    else "model.backbone.init_cfg=None")
        _run(["finetune", str(CONFIGS / "fcn_r18_camvid.py"), "--output", str(out),
              "--set", f"data.root={args.data_root}", "--set", f"train.steps={args.finetune_steps}",
              "--set", f"seed={seed}", "--set", init_set,
              "--set", f"train_dataloader.dataset.label_fraction={fraction}",
              "--set", f"train_dataloader.dataset.subset_seed={seed}", *args.finetune_set],
             out.with_suffix(".log"))
    return json.loads((out / "report.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--pretrain-steps", type=int, default=300)
    parser.add_argument("--finetune-steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--pretrain-set", nargs="*", default=[], help="extra --set for pretraining")
    parser.add_argument("--finetune-set", nargs="*", default=FINETUNE_BUDGET,
                        help="--set values for fine-tuning (default: FINETUNE_BUDGET)")
    parser.add_argument("--summarize", action="store_true",
                        help="only rebuild the table and plots from the runs already done")
    parser.add_argument("--results", type=Path, default=HERE / "results",
                        help="where reproduction.{json,md} and runs/ go (default: results/ here)")
    args = parser.parse_args()
    args.data_root = args.data_root.resolve()
    args.runs = args.results / "runs"
    args.pretrain_set = [x for kv in args.pretrain_set for x in ("--set", kv)]
    args.finetune_set = [x for kv in args.finetune_set for x in ("--set", kv)]
    t0 = time.monotonic()
    if args.summarize:
        _summarize(args)
        return
    table: dict[str, dict[str, list[float]]] = {}
    for seed in args.seeds:
        for init in ("random", *args.methods):
            backbone = None if init == "random" else pretrain(init, seed, args)
            for fraction in args.fractions:
                report = finetune(init, backbone, fraction, seed, args)
                table.setdefault(init, {}).setdefault(f"{int(fraction * 100)}%", []).append(report["miou"])
                _write(table, args, time.monotonic() - t0)


def _summarize(args) -> None:
    """The table from every finished fine-tune under ``runs/``, and the pretraining loss curves."""
    table: dict[str, dict[str, list[float]]] = {}
    for report in sorted(args.runs.glob("finetune_*_f*_s*/report.json")):
        init, frac, _seed = report.parent.name.removeprefix("finetune_").rsplit("_", 2)
        table.setdefault(init, {}).setdefault(f"{int(frac[1:])}%", []).append(
            json.loads(report.read_text())["miou"])
    order = ["random", *METHODS]
    _write({k: table[k] for k in order if k in table}, args, None)
    _plot_pretraining(args)


def _plot_pretraining(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(args.runs.glob("pretrain_*_s0/metrics.jsonl"))
    if not runs:
        return
    fig, axes = plt.subplots(1, len(runs), figsize=(3.2 * len(runs), 2.8), squeeze=False)
    for ax, path in zip(axes[0], runs):
        rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        rows = [r for r in rows if "loss" in r and "split" not in r]
        ax.plot([r["iter"] for r in rows], [r["loss"] for r in rows])
        ax.set_title(path.parent.name.removeprefix("pretrain_").removesuffix("_s0"))
        ax.set_xlabel("iteration")
    axes[0][0].set_ylabel("training loss")
    fig.tight_layout()
    fig.savefig(args.results / "pretraining_losses.png", dpi=100)
    plt.close(fig)


def _write(table, args, seconds: float | None) -> None:
    cols = [f"{int(f * 100)}%" for f in args.fractions]
    summary = {init: {c: {"runs": v, "mean": statistics.mean(v),
                          "std": statistics.stdev(v) if len(v) > 1 else 0.0}
                      for c, v in row.items()} for init, row in table.items()}
    args.results.mkdir(parents=True, exist_ok=True)
    budget = {"pretrain_steps": args.pretrain_steps, "finetune_steps": args.finetune_steps,
              "seeds": args.seeds, "finetune_set": [x for x in args.finetune_set if x != "--set"]}
    if seconds is not None:  # --summarize runs nothing: no wall time to report
        budget["wall_seconds_this_invocation"] = round(seconds)
    (args.results / "reproduction.json").write_text(json.dumps({"budget": budget, "miou": summary}, indent=2) + "\n")
    lines = ["| init | " + " | ".join(f"test mIoU, {c} labels" for c in cols) + " |",
             "|---|" + "---|" * len(cols)]
    for init, row in summary.items():
        cells = [f"{row[c]['mean']:.2f} ± {row[c]['std']:.2f} (n={len(row[c]['runs'])})" if c in row else "-"
                 for c in cols]
        lines.append(f"| {init} | " + " | ".join(cells) + " |")
    (args.results / "reproduction.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
