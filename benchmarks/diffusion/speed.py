"""Speed of iCT training and of 1-step sampling, in one process.

1. One iCT training step (student forward + backward, the teacher's extra forward without
   gradient, optimiser step, EMA update -- the trainer's own code path) divided by one plain
   EDM-style denoising step of the same UNet and batch (Karras et al. 2022: sigma ~ lognormal
   (-1.2, 1.2), the same c_skip / c_out / c_in preconditioning, loss lambda(sigma) ||D(x + sigma n)
   - x||^2, one forward + backward, optimiser step, the same EMA update). iCT adds one forward
   pass without gradient, so about 4/3 is the floor (a backward costs about two forwards).
2. Images per second of 1-step sampling: the plugin's ``consistency_sample`` against diffusers'
   ``ConsistencyModelPipeline(num_inference_steps=1)`` on the same UNet and batch.

The two kinds of step alternate and each figure is the median of ``--repeats`` timings, so a
load change on a shared machine hits both alike.

    python benchmarks/diffusion/speed.py --threads 1 --batch-size 32
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--sample-batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(HERE / "results" / "speed.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from diffusers import ConsistencyModelPipeline, UNet2DModel

    from concord.losses import PseudoHuber
    from concord.run import load_config
    from concord_diffusion.ict import EMA, ConsistencyFunction, ConsistencyTraining
    from concord_diffusion.sampling import consistency_sample, make_scheduler
    from concord_diffusion.train.config import DiffusionRunConfig

    cfg = load_config(DiffusionRunConfig, HERE.parents[1] / "plugins" / "diffusion" / "configs" / "ict_fashion_mnist.yaml")
    recipe = cfg.ict
    torch.manual_seed(0)
    b, shape = args.batch_size, (1, 32, 32)
    x = torch.rand(b, *shape) * 2 - 1

    def setup():
        fn = ConsistencyFunction(UNet2DModel(**cfg.model), recipe.as_parameterization()).train()
        return fn, torch.optim.RAdam(fn.parameters(), lr=2e-4), EMA(fn)

    fn_ict, opt_ict, ema_ict = setup()
    objective = ConsistencyTraining(recipe, PseudoHuber())
    grid = recipe.grid(161)
    g = torch.Generator().manual_seed(0)

    def ict_step() -> None:
        draw = objective.draw(grid, b, shape, g)
        loss = objective.loss(fn_ict, fn_ict, x, draw, grid)
        loss.backward()
        opt_ict.step()
        opt_ict.zero_grad(set_to_none=True)
        ema_ict.update(fn_ict, 0.999)

    fn_edm, opt_edm, ema_edm = setup()
    p_ = fn_edm.parameterization
    sd = recipe.sigma_data

    def edm_step() -> None:
        sigma = torch.exp(-1.2 + 1.2 * torch.randn(b, generator=g, dtype=torch.float64))
        noise = torch.randn((b, *shape), generator=g)
        noisy = x + sigma.float().view(-1, 1, 1, 1) * noise
        c_skip = (sd**2 / (sigma**2 + sd**2)).float().view(-1, 1, 1, 1)
        c_out = (sigma * sd / torch.sqrt(sigma**2 + sd**2)).float().view(-1, 1, 1, 1)
        out = fn_edm.unet(p_.c_in(sigma).float().view(-1, 1, 1, 1) * noisy, p_.c_noise(sigma).float()).sample
        weight = ((sigma**2 + sd**2) / (sigma * sd) ** 2).float()
        loss = (weight * ((c_skip * noisy + c_out * out - x) ** 2).flatten(1).sum(1)).mean()
        loss.backward()
        opt_edm.step()
        opt_edm.zero_grad(set_to_none=True)
        ema_edm.update(fn_edm, 0.999)

    def timed(f) -> float:
        t0 = time.perf_counter()
        f()
        return time.perf_counter() - t0

    for _ in range(3):  # warm-up
        ict_step()
        edm_step()
    t_ict, t_edm = [], []
    for _ in range(args.repeats):
        t_ict.append(timed(ict_step))
        t_edm.append(timed(edm_step))
    ict, edm = statistics.median(t_ict), statistics.median(t_edm)

    # 1-step sampling: plugin vs pipeline, same UNet and noise
    unet = fn_ict.unet.eval()
    pipe = ConsistencyModelPipeline(unet=unet, scheduler=make_scheduler(num_train_timesteps=1281))
    pipe.set_progress_bar_config(disable=True)
    fn = ConsistencyFunction(unet, recipe.as_parameterization()).eval()
    n = args.sample_batch

    def plugin_sample() -> None:
        noise = torch.randn((n, *shape), generator=torch.Generator().manual_seed(1))
        consistency_sample(fn, noise, [recipe.sigma_max])

    def pipeline_sample() -> None:
        pipe(batch_size=n, num_inference_steps=1, generator=torch.Generator().manual_seed(1), output_type="pt")

    plugin_sample()
    pipeline_sample()
    s_plugin, s_pipe = [], []
    for _ in range(max(3, args.repeats // 3)):
        s_plugin.append(timed(plugin_sample))
        s_pipe.append(timed(pipeline_sample))
    plugin_ips, pipe_ips = n / statistics.median(s_plugin), n / statistics.median(s_pipe)
    result = {
        "batch_size": b, "threads": args.threads, "repeats": args.repeats,
        "unet_parameters": sum(q.numel() for q in unet.parameters()),
        "ict_step_seconds": ict, "edm_step_seconds": edm, "ict_over_edm": ict / edm,
        "ict_step_seconds_all": t_ict, "edm_step_seconds_all": t_edm,
        "sample_batch": n, "plugin_images_per_second": plugin_ips, "pipeline_images_per_second": pipe_ips,
        "plugin_over_pipeline": plugin_ips / pipe_ips, "torch": torch.__version__,
    }
    assert math.isfinite(result["ict_over_edm"])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"iCT step {ict * 1e3:.0f} ms / EDM step {edm * 1e3:.0f} ms = {ict / edm:.3f}  "
          f"(batch {b}, {args.threads} thread(s), median of {args.repeats})")
    print(f"1-step sampling, batch {n}: plugin {plugin_ips:.0f} img/s, ConsistencyModelPipeline "
          f"{pipe_ips:.0f} img/s (ratio {plugin_ips / pipe_ips:.3f})")


if __name__ == "__main__":
    main()
