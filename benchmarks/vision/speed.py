"""Speed of concord-vision's pretraining step and crop pipeline on this machine.

    python benchmarks/vision/speed.py --data-root ../shared/data --threads 2

1. Training-step time (forward, backward, SGD step) of PixPro, PixContrast and DenseCL divided by
   the BYOL-style instance baseline's, on the same ResNet-18, batch and crop size (goal for PixPro:
   <= 1.15: the dense head -- propagation module, pixel pairs -- should cost little next to the
   backbone). Median of ``--steps`` timed steps after ``--warmup``.
2. Images per second of the two-view crop pipeline (load, two BYOL-style views with boxes, pack)
   over CamVid's training images, in this one process.
Results are printed and written to ``benchmarks/vision/results/speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def _samples(batch: int, size: int, generator: torch.Generator):
    from mmengine.structures import BaseDataElement

    out = []
    for _ in range(batch):
        s = BaseDataElement()
        xy = torch.rand(2, 2, generator=generator, dtype=torch.float64) * 60
        wh = 100 + torch.rand(2, 2, generator=generator, dtype=torch.float64) * 80
        s.crop_boxes = torch.cat([xy, xy + wh], dim=1)
        s.flips = torch.rand(2, generator=generator) < 0.5
        out.append(s)
    return out


def build(method: str, batch: int, size: int):
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmseg.registry import MODELS

    cfg = Config.fromfile(str(HERE.parents[1] / "plugins" / "vision" / "configs" / f"{method}_r18_camvid.py"))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    g = torch.Generator().manual_seed(0)
    data = {"inputs": [(torch.rand(2, 3, size, size, generator=g) * 255).to(torch.uint8) for _ in range(batch)],
            "data_samples": _samples(batch, size, g)}
    return model, optim, data


def step_times(methods, batch: int, size: int, steps: int, warmup: int) -> dict[str, list[float]]:
    """Steps of every method taken in turn (round robin), so a change in the machine's load
    during the measurement hits every method alike -- these 2 cores are shared."""
    built = {m: build(m, batch, size) for m in methods}
    times: dict[str, list[float]] = {m: [] for m in methods}
    for i in range(warmup + steps):
        for m, (model, optim, data) in built.items():
            t0 = time.perf_counter()
            model.train_step(data, optim)
            if i >= warmup:
                times[m].append(time.perf_counter() - t0)
    return times


def pipeline_rate(data_root: Path, size: int, images: int) -> float:
    from mmengine.dataset import Compose

    from concord_vision.augment import byol_view_steps

    v1, v2 = byol_view_steps(size=size, scale=(0.08, 1.0), sigma=(0.057, 1.14))
    pipe = Compose([dict(type="LoadImageFromFile"), dict(type="ConcordTwoViews", seed=0, view_1=v1, view_2=v2),
                    dict(type="ConcordPackTwoViews")])
    paths = sorted((data_root / "camvid" / "train").glob("*.png"))
    if not paths:
        raise SystemExit(f"no CamVid images under {data_root / 'camvid' / 'train'}")
    for p in paths[:5]:
        pipe({"img_path": str(p)})
    t0 = time.perf_counter()
    for i in range(images):
        pipe({"img_path": str(paths[i % len(paths)])})
    return images / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", default="../shared/data", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--pipeline-images", type=int, default=300)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "speed.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from mmengine.registry import init_default_scope

    from concord_vision.registration import register

    register()
    init_default_scope("mmseg")
    result = {"machine": f"{platform.machine()}, torch {torch.__version__}, {args.threads} threads",
              "batch": args.batch, "size": args.size, "steps": args.steps, "step_seconds": {}}
    all_times = step_times(("byol", "pixpro", "pixcontrast", "densecl"), args.batch, args.size,
                           args.steps, args.warmup)
    for method, times in all_times.items():
        result["step_seconds"][method] = {"median": statistics.median(times), "min": min(times)}
        print(f"{method:12s} median step {statistics.median(times):.3f} s  (min {min(times):.3f})", flush=True)
    base = result["step_seconds"]["byol"]["median"]
    result["ratio_to_byol"] = {m: round(v["median"] / base, 3) for m, v in result["step_seconds"].items()}
    for m, r in result["ratio_to_byol"].items():
        print(f"{m:12s} / byol = {r:.3f}" + ("   (goal <= 1.15)" if m == "pixpro" else ""))
    rate = pipeline_rate(args.data_root, args.size, args.pipeline_images)
    result["pipeline_images_per_second"] = round(rate, 1)
    print(f"two-view crop pipeline: {rate:.1f} images/s (1 process)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
