"""The consistency-training loss against a per-sample brute-force transcription of the paper."""

from __future__ import annotations

import math

import torch

from concord.losses import L2, PseudoHuber
from concord_diffusion.ict.consistency_function import ConsistencyFunction
from concord_diffusion.ict.ema import EMA
from concord_diffusion.ict.karras import karras_sigmas
from concord_diffusion.ict.objective import ConsistencyTraining
from concord_diffusion.ict.recipe import Recipe


def _brute_force(f, teacher, x, idx, z, sigmas, *, detach_teacher=True, metric="huber", weighting="ict"):
    """Eq. 6 of iCT one sample at a time: lambda(sigma_i) d(f(x + s_{i+1} z, s_{i+1}), f-(x + s_i z, s_i))."""
    d = x[0].numel()
    c = 0.00054 * math.sqrt(d)
    total = 0.0
    for n in range(x.shape[0]):
        i = int(idx[n])
        s_now, s_next = float(sigmas[i]), float(sigmas[i + 1])
        student = f(x[n : n + 1] + s_next * z[n : n + 1], s_next)
        if detach_teacher:
            with torch.no_grad():
                target = teacher(x[n : n + 1] + s_now * z[n : n + 1], s_now)
        else:
            target = teacher(x[n : n + 1] + s_now * z[n : n + 1], s_now)
        sq = ((student - target) ** 2).sum()
        dist = torch.sqrt(sq + c * c) - c if metric == "huber" else sq
        lam = 1.0 / (s_next - s_now) if weighting == "ict" else 1.0
        total = total + lam * dist
    return total / x.shape[0]


def _setup(make_unet, n=6, levels=11):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, 1, 8, 8, generator=g) * 2 - 1
    f = ConsistencyFunction(make_unet()).train()
    recipe = Recipe()
    grid = recipe.grid(levels)
    return g, x, f, recipe, grid


def test_ict_loss_and_gradient_equal_the_brute_force(make_unet):
    """Catches: student and teacher swapped (gradient through sigma_i), two different noises,
    per-element Huber, lambda at sigma_{i+1}, the default c not 0.00054 sqrt(d), or a teacher
    that passes gradient (the non-detached brute force is shown to differ)."""
    g, x, f, recipe, grid = _setup(make_unet)
    ct = ConsistencyTraining(recipe, PseudoHuber())
    draw = ct.draw(grid, x.shape[0], tuple(x.shape[1:]), g)
    loss = ct.loss(f, f, x, draw, grid)
    loss.backward()
    ours = [p.grad.clone() for p in f.parameters()]
    f.zero_grad()
    ref = _brute_force(f, f, x, draw.indices, draw.noise, karras_sigmas(11))
    ref.backward()
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-7)
    for a, p in zip(ours, f.parameters()):
        torch.testing.assert_close(a, p.grad, rtol=1e-4, atol=1e-6)
    f.zero_grad()
    _brute_force(f, f, x, draw.indices, draw.noise, karras_sigmas(11), detach_teacher=False).backward()
    assert any(not torch.allclose(a, p.grad, rtol=1e-3, atol=1e-6) for a, p in zip(ours, f.parameters()))


def test_original_ct_uses_the_ema_teacher_l2_and_uniform_weights(make_unet):
    g, x, f, _, _ = _setup(make_unet)
    recipe = Recipe.original_ct()
    grid = recipe.grid(5)
    ema = EMA(f)
    with torch.no_grad():
        for p in f.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
    ct = ConsistencyTraining(recipe, L2())
    draw = ct.draw(grid, x.shape[0], tuple(x.shape[1:]), g)
    loss = ct.loss(f, ema.module, x, draw, grid)
    ref = _brute_force(f, ema.module, x, draw.indices, draw.noise, grid.sigmas, metric="l2", weighting="uniform")
    torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-7)
    assert not ema.module.training  # put back into eval mode after the teacher pass


def test_same_dropout_mask_makes_identical_inputs_agree(make_unet):
    """With both levels equal the student and teacher inputs coincide; the loss is then 0 only
    if both passes used the same dropout masks (iCT Sec. 3.1). Without the replay it is not."""
    unet = make_unet(dropout=0.5)
    f = ConsistencyFunction(unet).train()
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    sig = torch.tensor([0.5, 0.5 + 1e-12, 1.0], dtype=torch.float64)

    class G:
        sigmas, weights = sig, torch.ones(2, dtype=torch.float64)

    from concord_diffusion.ict.objective import StepDraw

    draw = StepDraw(torch.zeros(4, dtype=torch.long), torch.randn(4, 1, 8, 8))
    synced = ConsistencyTraining(Recipe(), L2()).loss(f, f, x, draw, G)
    unsynced = ConsistencyTraining(Recipe(dropout_sync="none"), L2()).loss(f, f, x, draw, G)
    assert synced.item() < 1e-6 < unsynced.item()
