"""iSogCLR against the paper's Algorithm 1 written out one anchor at a time (with the temperature
gradient taken by autograd on tau), a checkpoint round trip, and 2 processes against one."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from concord.losses.isogclr import ISogCLR
from concord.testing import run_distributed

TAU0 = torch.tensor(0.1).item()  # the loss's buffers are float32 before .double(): float32's 0.1
HP = {"rho": 0.3, "eta": 0.01, "beta": 0.9, "gamma": 0.9, "tau_min": 0.05, "tau_max": 0.7}


class Algorithm1:
    """Per-sample state in dicts; one anchor at a time."""

    def __init__(self, tau0=TAU0, shift=True, learn=True):
        self.u, self.tau, self.m, self.tau0, self.shift, self.learn = {}, {}, {}, tau0, shift, learn

    def step(self, z1, z2, index):
        a1, a2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
        b = len(index)
        surrogate, value = 0.0, 0.0
        new_u, grads = {}, {}
        for i, sample in enumerate(index.tolist()):
            tau_i = self.tau.get(sample, self.tau0)
            u_old = self.u.get(sample)
            gamma = HP["gamma"] if u_old is not None else 1.0
            us, gs = [], []
            for anchor, other in ((a1, a2), (a2, a1)):
                x, pos = anchor[i], other[i]
                negs = [other[j] for j in range(b) if j != i] + [anchor[j] for j in range(b) if j != i]
                tau_t = torch.tensor(tau_i, dtype=x.dtype, requires_grad=True)
                hs = [x @ z - (x @ pos if self.shift else 0.0) for z in negs]
                g = sum(torch.exp(h / tau_t) for h in hs) / len(negs)
                u = (1 - gamma) * (u_old or 0.0) + gamma * g.item()
                (dg_dtau,) = torch.autograd.grad(g, tau_t, retain_graph=True)
                # d/dtau [tau log g + tau rho] with u in place of g
                gs.append(math.log(u) + HP["rho"] + tau_i * dg_dtau.item() / u)
                # G(w) = tau / u * grad g  (+ LibAUC's explicit positive term without the shift)
                surrogate = surrogate + tau_i / u * g - (0.0 if self.shift else x @ pos)
                value += tau_i * (math.log(u) + HP["rho"]) - (0.0 if self.shift else (x @ pos).item())
                us.append(u)
            new_u[sample], grads[sample] = sum(us) / 2, sum(gs) / 2
        for sample in new_u:
            self.u[sample] = new_u[sample]
            if self.learn:
                m = (1 - HP["beta"]) * self.m.get(sample, 0.0) + HP["beta"] * grads[sample]
                self.m[sample] = m
                tau = self.tau.get(sample, self.tau0) - HP["eta"] * m
                self.tau[sample] = min(HP["tau_max"], max(HP["tau_min"], tau))
        return surrogate / (2 * b), value / (2 * b)


def _batches(seed, sizes=(4, 4, 5), d=3):
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in sizes:
        z1 = torch.randn(n, d, generator=g, dtype=torch.float64)
        out.append((z1, z1 + 0.5 * torch.randn(n, d, generator=g, dtype=torch.float64)))
    # samples 0-3, then 2-5 (two seen, two new), then 0, 4, 6, 1, 3
    return out, [torch.tensor([0, 1, 2, 3]), torch.tensor([5, 2, 4, 3]), torch.tensor([0, 4, 6, 1, 3])]


@pytest.mark.parametrize("shift, learn, block", [(True, True, None), (False, True, 2), (True, False, 3)])
def test_three_steps_equal_algorithm_1(shift, learn, block):
    """Gradient, value and the whole per-sample state after each of three steps with repeated and
    new samples. Catches: u not moving-averaged (or gamma applied to the old value), the
    first visit not initialising u, tau's momentum weighting swapped, no projection onto
    [tau_min, tau_max], one temperature for all samples, negatives counting the positive or
    the anchor itself, the views' u not averaged."""
    loss_fn = ISogCLR(n_samples=8, positive_shift=shift, learn_temperatures=learn,
                      block_size=block, **HP).double()
    ref = Algorithm1(shift=shift, learn=learn)
    batches, indices = _batches(0)
    for (z1, z2), idx in zip(batches, indices):
        a1, a2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        ours = loss_fn(a1, a2, idx)
        ours.backward()
        b1, b2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        surrogate, value = ref.step(b1, b2, idx)
        surrogate.backward()
        assert ours.item() == pytest.approx(value, abs=1e-12)
        torch.testing.assert_close(a1.grad, b1.grad, atol=1e-12, rtol=1e-9)
        torch.testing.assert_close(a2.grad, b2.grad, atol=1e-12, rtol=1e-9)
        for sample, u in ref.u.items():
            assert loss_fn.u[sample].item() == pytest.approx(u, rel=1e-10)
            assert loss_fn.tau[sample].item() == pytest.approx(ref.tau.get(sample, ref.tau0), rel=1e-10)
        assert bool(loss_fn.seen[list(ref.u)].all()) and int(loss_fn.seen.sum()) == len(ref.u)
    if learn:
        assert len(set(loss_fn.tau[list(ref.u)].tolist())) > 1, "temperatures individualised"


def test_temperatures_stay_in_the_interval_with_a_large_step():
    loss_fn = ISogCLR(n_samples=6, eta=10.0)
    z = torch.randn(6, 4)
    for _ in range(3):
        loss_fn(z, z + 0.1 * torch.randn(6, 4), torch.arange(6))
    assert bool((loss_fn.tau >= 0.05).all()) and bool((loss_fn.tau <= 0.7).all())
    assert bool(((loss_fn.tau == 0.05) | (loss_fn.tau == 0.7)).any()), "the projection was needed"


def test_checkpoint_round_trip_resumes_exactly():
    batches, indices = _batches(1)
    a = ISogCLR(n_samples=8)
    for (z1, z2), idx in zip(batches[:2], indices[:2]):
        a(z1.float(), z2.float(), idx)
    state = a.state_dict()
    assert set(state) == {"u", "tau", "tau_momentum", "seen"}
    b = ISogCLR(n_samples=8)
    b.load_state_dict(state)
    (z1, z2), idx = batches[2], indices[2]
    torch.testing.assert_close(a(z1.float(), z2.float(), idx), b(z1.float(), z2.float(), idx))
    for name in state:
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    fresh = ISogCLR(n_samples=8)
    assert not torch.allclose(fresh(z1.float(), z2.float(), idx), a(z1.float(), z2.float(), idx))


def test_evaluation_calls_leave_the_state_alone():
    loss_fn = ISogCLR(n_samples=5).eval()
    loss_fn(torch.randn(4, 3), torch.randn(4, 3), torch.arange(4))
    assert not bool(loss_fn.seen.any()) and float(loss_fn.u.abs().sum()) == 0.0


def _worker(rank, world, batches, indices, sizes):
    loss_fn = ISogCLR(n_samples=8, gather=True).double()
    out = []
    for (z1, z2), idx in zip(batches, indices):
        start = sum(sizes[:rank])
        rows = slice(start, start + sizes[rank])
        a1, a2 = z1[rows].clone().requires_grad_(True), z2[rows].clone().requires_grad_(True)
        loss = loss_fn(a1, a2, idx[rows])
        loss.backward()
        out.append({"loss": loss.detach(), "grads": (a1.grad, a2.grad)})
    return {"steps": out, "state": {k: v.clone() for k, v in loss_fn.state_dict().items()}}


@pytest.mark.distributed
def test_two_processes_equal_one_uneven():
    """Negatives and their count 2(B-1) over the global batch, every rank writing the whole
    batch's state: losses, gradients and buffers equal one process's (writing only local rows
    would leave the ranks' buffers different after the first step)."""
    batches, indices = _batches(2, sizes=(5, 5))
    indices = [torch.tensor([0, 1, 2, 3, 4]), torch.tensor([5, 2, 7, 0, 6])]
    sizes = [2, 3]
    single = ISogCLR(n_samples=8).double()
    expected = []
    for (z1, z2), idx in zip(batches, indices):
        a1, a2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        loss = single(a1, a2, idx)
        loss.backward()
        expected.append((loss.detach(), a1.grad, a2.grad))
    for rank, r in enumerate(run_distributed(_worker, 2, batches, indices, sizes)):
        start = sum(sizes[:rank])
        rows = slice(start, start + sizes[rank])
        for (loss, g1, g2), got in zip(expected, r["steps"]):
            torch.testing.assert_close(got["loss"], loss, atol=1e-12, rtol=1e-10)
            torch.testing.assert_close(got["grads"][0], g1[rows], atol=1e-12, rtol=1e-9)
            torch.testing.assert_close(got["grads"][1], g2[rows], atol=1e-12, rtol=1e-9)
        for name, value in single.state_dict().items():
            torch.testing.assert_close(r["state"][name], value, atol=1e-12, rtol=1e-10)


def test_equals_libauc_gcloss_v1_where_it_installs():
    """LibAUC (the authors' library) needs torchvision, which does not install beside torch 2.13
    here, so this runs only where it does. positive_shift=False is LibAUC's estimator; LibAUC
    sums the two views' terms (gradients twice ours) and starts u per batch, which coincides with
    our per-sample start when a batch's samples are all new or all seen (as below)."""
    contrastive = pytest.importorskip("libauc.losses.contrastive")
    theirs = contrastive.GCLoss_v1(N=10, tau=0.1, gamma=0.9, enable_isogclr=True, device=torch.device("cpu"))
    theirs.u, theirs.learnable_tau, theirs.grad_tau = (t.double() for t in (theirs.u, theirs.learnable_tau, theirs.grad_tau))
    ours = ISogCLR(n_samples=10, positive_shift=False).double()
    g = torch.Generator().manual_seed(0)
    for step, idx in enumerate([torch.tensor([0, 1, 2, 3]), torch.tensor([4, 5, 6, 7]),
                                torch.tensor([0, 2, 4, 6]), torch.tensor([1, 3, 5, 7])]):
        if step == 2:
            theirs.gamma = theirs.gamma_min  # LibAUC's adjust_gamma after the first epoch
        z1 = torch.randn(4, 5, generator=g, dtype=torch.float64)
        z2 = z1 + 0.3 * torch.randn(4, 5, generator=g, dtype=torch.float64)
        a1, a2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        theirs(a1, a2, idx).backward()
        b1, b2 = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
        ours(b1, b2, idx).backward()
        torch.testing.assert_close(a1.grad, 2 * b1.grad)
        torch.testing.assert_close(theirs.learnable_tau.flatten()[idx], ours.tau[idx])
        torch.testing.assert_close(theirs.u.flatten()[idx], ours.u[idx])
