"""``concord diffusion train CONFIG`` and ``concord diffusion sample RUN_DIR`` (also as
``concord-diffusion ...``).

    concord diffusion train plugins/diffusion/configs/ict_fashion_mnist.yaml --set train.steps=500
    concord diffusion train CONFIG --output runs/x            # then, after a kill: --resume
    torchrun --nproc-per-node 2 -m concord_diffusion.cli train CONFIG --output runs/x
    accelerate launch --multi_gpu --num_processes 2 -m concord_diffusion.cli train CONFIG -o runs/x
    concord diffusion sample runs/x --steps 2 --n 64 --seed 3
    concord diffusion evaluate runs/x                         # or runs/x/checkpoints/last.pt

A run folder holds ``config.yaml``, ``metrics.jsonl``, ``checkpoints/last.pt``,
``samples/step_*.png`` (1-step grids during training), ``samples_1step.png``,
``samples_2step.png``, ``loss.png``, ``report.json`` and ``pipeline/`` -- a
``ConsistencyModelPipeline`` folder (EMA weights) that
``diffusers.ConsistencyModelPipeline.from_pretrained`` loads unchanged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from concord.run import add_train_arguments
    from concord.run.evaluate import add_evaluate_arguments

    parser = argparse.ArgumentParser(prog="concord diffusion", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="consistency-train a diffusers UNet and report 1- / 2-step FD")
    add_train_arguments(train)
    evaluate = sub.add_parser("evaluate", help="the report's 1- / 2-step FD and precision / recall again, "
                              "from a run folder or one of its checkpoints (written to RUN/evaluation.json)")
    add_evaluate_arguments(evaluate)
    sample = sub.add_parser("sample", help="write a PNG grid of samples from a run folder")
    sample.add_argument("run_dir", help="a run folder written by `concord diffusion train`")
    sample.add_argument("--steps", type=int, choices=(1, 2), default=1, help="sampling steps (default: 1)")
    sample.add_argument("--n", type=int, default=64, help="number of images (default: 64)")
    sample.add_argument("--seed", type=int, default=0, help="noise seed (default: 0)")
    sample.add_argument("--out", default=None, help="PNG file (default: RUN_DIR/sample_<steps>step_seed<S>.png)")
    return parser


def _train(args: argparse.Namespace) -> int:
    from concord.run import run_training
    from concord_diffusion.train.config import DiffusionRunConfig
    from concord_diffusion.train.report import build_report
    from concord_diffusion.train.trainer import train_consistency

    def train(run):
        trained = train_consistency(run)
        return build_report(run, trained) if trained is not None else {}

    return run_training(args, DiffusionRunConfig, train, default_name="diffusion")


def _sample(args: argparse.Namespace) -> int:
    import torch

    from concord.errors import ConfigError, DataError
    from concord.run import read_yaml, say
    from concord_diffusion.evaluate.image_grid import save_grid
    from concord_diffusion.ict.consistency_function import ConsistencyFunction
    from concord_diffusion.ict.parameterization import Parameterization
    from concord_diffusion.sampling import consistency_sample, load_pipeline, pipeline_sigmas

    run_dir = Path(args.run_dir)
    if args.n < 1:
        raise ConfigError(f"--n must be >= 1, got {args.n}")
    if not (run_dir / "pipeline").is_dir():
        raise DataError(f"{str(run_dir)!r} holds no pipeline/ folder (is it a finished `concord diffusion train` run?)")
    cfg = read_yaml(run_dir / "config.yaml") if (run_dir / "config.yaml").is_file() else {}
    ict = cfg.get("ict", {})
    pipe = load_pipeline(run_dir / "pipeline")
    sch = pipe.scheduler.config
    kind = ict.get("parameterization", "ict")
    fn = ConsistencyFunction(pipe.unet, Parameterization(float(sch.sigma_min), float(sch.sigma_data), kind))
    mid = cfg.get("sample", {}).get("sigma_mid")
    sigmas = pipeline_sigmas(pipe.scheduler, args.steps)
    if args.steps == 2 and mid is not None:
        sigmas = [float(sch.sigma_max), float(mid)]
    g = torch.Generator().manual_seed(args.seed)
    shape = (args.n, pipe.unet.config.in_channels, pipe.unet.config.sample_size, pipe.unet.config.sample_size)
    x = consistency_sample(fn, torch.randn(shape, generator=g), sigmas, sigma_min=float(sch.sigma_min),
                           clip=bool(sch.clip_denoised), generator=g)
    out = Path(args.out) if args.out else run_dir / f"sample_{args.steps}step_seed{args.seed}.png"
    save_grid(x, out)
    say(f"{args.n} samples ({args.steps} step{'s' if args.steps > 1 else ''}, seed {args.seed}) written to {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from concord.run import report_errors

    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    @report_errors
    def run() -> int:
        if args.command == "evaluate":
            from concord.run.evaluate import run_evaluation
            from concord_diffusion.train.config import DiffusionRunConfig
            from concord_diffusion.train.evaluate import evaluate_run

            return run_evaluation(args, DiffusionRunConfig, evaluate_run)
        return _train(args) if args.command == "train" else _sample(args)

    return run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
