"""c_skip / c_out / c_in / c_noise against diffusers' scheduler (peer) and the boundary condition."""

from __future__ import annotations

import math

import pytest
import torch

from concord_diffusion.ict.consistency_function import ConsistencyFunction
from concord_diffusion.ict.parameterization import Parameterization

SIGMAS = torch.tensor([0.002, 0.01, 0.3, 0.5, 1.0, 7.3, 80.0], dtype=torch.float64)


def test_ict_factors_equal_the_schedulers():
    """The pipeline samples with these exact formulas; catches c_in without the square root and
    c_skip / c_out without sigma_min (the research script's)."""
    from diffusers import CMStochasticIterativeScheduler

    sch = CMStochasticIterativeScheduler(sigma_min=0.002, sigma_data=0.5)
    p = Parameterization(0.002, 0.5)
    c_skip, c_out = sch.get_scalings_for_boundary_condition(SIGMAS)
    torch.testing.assert_close(p.c_skip(SIGMAS), c_skip)
    torch.testing.assert_close(p.c_out(SIGMAS), c_out)
    # scale_model_input divides by (sigma^2 + sigma_d^2) ** 0.5
    torch.testing.assert_close(p.c_in(SIGMAS), 1 / (SIGMAS**2 + 0.25) ** 0.5)
    t = torch.as_tensor(sch.sigma_to_t(SIGMAS.numpy()), dtype=torch.float64)
    torch.testing.assert_close(p.c_noise(SIGMAS), t)


def test_ict_factors_by_hand_at_sigma_one():
    p = Parameterization(0.002, 0.5)
    s = torch.tensor([1.0], dtype=torch.float64)
    assert math.isclose(float(p.c_skip(s)), 0.25 / (0.998**2 + 0.25), rel_tol=1e-14)
    assert math.isclose(float(p.c_out(s)), 0.5 * 0.998 / math.sqrt(1.25), rel_tol=1e-14)
    assert math.isclose(float(p.c_in(s)), 1 / math.sqrt(1.25), rel_tol=1e-14)
    assert math.isclose(float(p.c_noise(s)), 0.0, abs_tol=1e-12)


def test_research_script_factors_by_hand():
    """The script's get_input_preconditioning and scalings_for_boundary_conditions, written out."""
    p = Parameterization(0.002, 0.5, "research_script")
    s = torch.tensor([80.0], dtype=torch.float64)
    assert math.isclose(float(p.c_in(s)), 1 / (6400 + 0.25), rel_tol=1e-14)
    assert math.isclose(float(p.c_skip(s)), 0.25 / (6400 + 0.25), rel_tol=1e-14)
    assert math.isclose(float(p.c_out(s)), 80 / math.sqrt(6400.25), rel_tol=1e-14)


def test_boundary_condition_holds_exactly(make_unet):
    """f(x, sigma_min) = x bit for bit for a random network; the research script's
    parameterisation breaks it (c_skip(sigma_min) < 1, c_out(sigma_min) > 0)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 1, 8, 8, generator=g)
    f = ConsistencyFunction(make_unet()).eval()
    with torch.no_grad():
        assert torch.equal(f(x, 0.002), x)
        assert torch.equal(f(x, torch.full((5,), 0.002, dtype=torch.float64)), x)
        assert not torch.equal(f(x, 0.0021), x)
        research = ConsistencyFunction(make_unet(), Parameterization(0.002, 0.5, "research_script")).eval()
        assert not torch.allclose(research(x, 0.002), x, atol=1e-4)


def test_network_sees_scaled_input_and_schedulers_time(make_unet):
    """The UNet is called with c_in x and t = 250 ln sigma (what the pipeline passes)."""
    seen = {}
    unet = make_unet()
    real = unet.forward

    def spy(sample, timestep, *a, **k):
        seen["sample"], seen["t"] = sample.detach().clone(), torch.as_tensor(timestep).clone()
        return real(sample, timestep, *a, **k)

    unet.forward = spy
    x = torch.ones(2, 1, 8, 8)
    ConsistencyFunction(unet)(x, torch.tensor([1.0, 80.0], dtype=torch.float64))
    torch.testing.assert_close(seen["sample"][0], torch.full((1, 8, 8), 1 / math.sqrt(1.25)))
    torch.testing.assert_close(seen["sample"][1], torch.full((1, 8, 8), 1 / math.sqrt(6400.25)))
    torch.testing.assert_close(seen["t"], torch.tensor([0.0, 250 * math.log(80.0)]))


def test_bad_input(make_unet):
    f = ConsistencyFunction(make_unet())
    with pytest.raises(ValueError, match=r"3 channel.*in_channels=1"):
        f(torch.zeros(2, 3, 8, 8), 1.0)
    with pytest.raises(ValueError, match="sigma_data must be"):
        Parameterization(0.002, 0.0)
    with pytest.raises(ValueError, match="sigma_data must be"):
        Parameterization(0.002, -0.5)
    with pytest.raises(ValueError, match="in_channels=1 but out_channels=2"):
        ConsistencyFunction(make_unet(out_channels=2))
