"""1- and 2-step sampling: the plugin's sampler equals diffusers' own pipeline on the same noise."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from concord_diffusion.ict.consistency_function import ConsistencyFunction
from concord_diffusion.ict.parameterization import Parameterization
from concord_diffusion.sampling import (
    consistency_function_from_pipeline,
    consistency_sample,
    load_pipeline,
    make_scheduler,
    pipeline_sigmas,
    save_pipeline,
)


@pytest.fixture
def saved(tmp_path, make_unet):
    unet = make_unet(seed=3)
    with torch.no_grad():  # outputs well beyond [-1, 1], so the clamp of each step matters
        unet.conv_out.weight.mul_(40)
    folder = save_pipeline(unet, make_scheduler(num_train_timesteps=21), tmp_path / "pipeline")
    return unet, folder


@pytest.mark.parametrize("steps", [1, 2])
def test_pipeline_sample_equals_the_plugins(saved, steps):
    """ConsistencyModelPipeline.from_pretrained(folder), unchanged, and consistency_sample with
    the same generator give the same images. Catches c_in without the square root, a time input
    other than 250 ln sigma, a missing clip, or noise drawn in another order."""
    from diffusers import ConsistencyModelPipeline

    unet, folder = saved
    pipe = ConsistencyModelPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    images = pipe(batch_size=5, num_inference_steps=steps, generator=torch.Generator().manual_seed(7),
                  output_type="pt").images
    g = torch.Generator().manual_seed(7)
    noise = torch.randn((5, 1, 8, 8), generator=g)
    f = ConsistencyFunction(unet, Parameterization(0.002, 0.5))
    ours = consistency_sample(f, noise, pipeline_sigmas(pipe.scheduler, steps), generator=g)
    # float32 rounding of outputs ~40 before the clamp: a few 1e-6; every wrong formula is O(1)
    torch.testing.assert_close((ours / 2 + 0.5).clamp(0, 1), images, rtol=0, atol=2e-5)
    assert 0.05 < float((ours.abs() == 1).float().mean()) < 0.95  # clamped pixels are part of the test
    if steps == 2:
        one = consistency_sample(f, noise, pipeline_sigmas(pipe.scheduler, 1))
        assert not torch.allclose(one, ours, atol=1e-3)


def test_research_script_parameterization_does_not_sample_like_the_pipeline(saved):
    """The research script saves its model as a ConsistencyModelPipeline, but trains with other
    factors: the pipeline's sample is not what its own parameterisation gives."""
    unet, folder = saved
    pipe = load_pipeline(folder)
    noise = torch.randn((3, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    ours = consistency_sample(consistency_function_from_pipeline(pipe), noise, [80.0])
    research = consistency_sample(ConsistencyFunction(unet, Parameterization(0.002, 0.5, "research_script")),
                                  noise, [80.0])
    assert not torch.allclose(ours, research, atol=1e-2)


class Shrink(nn.Module):
    """f(x, sigma) = x / (1 + sigma): Algorithm 1 by hand."""

    def forward(self, x, sigma):
        return x / (1 + float(sigma))


def test_two_steps_by_hand():
    """x1 = f(s0 z0, s0), x2 = f(x1 + sqrt(s1^2 - sigma_min^2) z1, s1), clamped each time.
    Catches sqrt(s1^2) in place of sqrt(s1^2 - sigma_min^2) (visible at small s1)."""
    g = torch.Generator().manual_seed(0)
    z0 = torch.randn(4, 1, 2, 2, generator=g)
    z1 = torch.randn(4, 1, 2, 2, generator=torch.Generator().manual_seed(5))
    out = consistency_sample(Shrink(), z0, [0.5, 0.01], generator=torch.Generator().manual_seed(5))
    x1 = (0.5 * z0 / 1.5).clamp(-1, 1)
    x2 = ((x1 + math.sqrt(0.01**2 - 0.002**2) * z1) / 1.01).clamp(-1, 1)
    torch.testing.assert_close(out, x2)


def test_round_trip_weights_and_schedule(saved):
    unet, folder = saved
    pipe = load_pipeline(folder)
    for (k, a), b in zip(unet.state_dict().items(), pipe.unet.state_dict().values()):
        assert torch.equal(a, b), k
    assert pipe.scheduler.config.num_train_timesteps == 21
    assert pipeline_sigmas(pipe.scheduler, 1) == [80.0]
    assert not (folder.parent / ".pipeline.tmp").exists()


def test_bad_input():
    f = Shrink()
    z = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="descending"):
        consistency_sample(f, z, [1.0, 2.0])
    with pytest.raises(ValueError, match="sigma_min"):
        consistency_sample(f, z, [1.0, 0.001])
    with pytest.raises(ValueError, match="not a diffusers pipeline"):
        load_pipeline("/nonexistent")
