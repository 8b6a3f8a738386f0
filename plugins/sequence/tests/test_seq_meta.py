"""MCLRec's meta update: the exact bilevel hypergradient against finite differences, and the
first-order alternation against the official trainer's three steps written out."""

from __future__ import annotations

import copy

import numpy as np
import torch

from concord_sequence.data import leave_one_out, reindex
from concord_sequence.data.synthetic import markov_chain_log
from concord_sequence.training.config import MethodConfig, SequenceConfig
from concord_sequence.training.methods import build_method
from concord_sequence.training.rec_loss import rec_loss


def _method(meta_update="bilevel", seed=0):
    torch.manual_seed(seed)
    split = leave_one_out(reindex(markov_chain_log(n_users=20, n_items=8, seed=seed)).data, max_len=5)
    cfg = SequenceConfig(method=MethodConfig(name="mclrec", meta_update=meta_update, meta_step=0.5),
                         loss={"lmd": 0.2, "beta": 0.5})
    cfg.model.hidden, cfg.model.inner, cfg.model.hidden_dropout, cfg.model.attn_dropout = 8, 16, 0.0, 0.0
    from concord_sequence.models import SASRec

    model = SASRec(split.n_items, max_len=5, hidden=8, layers=1, heads=1, inner=16,
                   hidden_dropout=0.0, attn_dropout=0.0).double()
    m = build_method(cfg, model, split, torch.Generator().manual_seed(1), torch.device("cpu"))
    m.aug1.double()
    m.aug2.double()
    return m, split


def _meta_value(m, batch, targets, v1, v2):
    """F(phi) = L_meta(theta - eta grad_theta L_enc(theta, phi), phi), evaluated plainly."""
    model = m.model
    h, h1, h2 = m.encode(batch), m.encode(v1), m.encode(v2)
    inner = rec_loss(h, model.item_weights(), targets) + m.loss(h1, h2, m.aug1(h1), m.aug2(h2))
    grads = torch.autograd.grad(inner, list(model.parameters()), allow_unused=True)
    shadow = copy.deepcopy(model)
    with torch.no_grad():
        for p, g in zip(shadow.parameters(), grads):
            if g is not None:
                p -= m.cfg.method.meta_step * g
    g1, g2 = shadow(v1.items, v1.lengths), shadow(v2.items, v2.lengths)
    return float(m.loss.meta_objective(g1, g2, m.aug1(g1), m.aug2(g2)).detach())


def test_bilevel_hypergradient_matches_finite_differences():
    m, _ = _method()
    batch, targets = m.batch(np.arange(8))
    v1, v2 = m.views(batch, torch.Generator().manual_seed(2))
    _, hyper = m.hypergradient(batch, targets, v1, v2)
    # everything runs in float64 (the core's contrast engine keeps float64 logits), so a small
    # central-difference step is exact to ~1e-8 and the tolerance can be tight
    eps = 1e-5
    checked = 0
    h1, h2 = m.encode(v1).detach(), m.encode(v2).detach()
    first_order = torch.autograd.grad(m.loss.meta_objective(h1, h2, m.aug1(h1), m.aug2(h2)), m.aug_params)
    err_hyper, err_first = 0.0, 0.0
    for p, g, f in zip(m.aug_params, hyper, first_order):
        flat, gflat, fflat = p.data.view(-1), g.view(-1), f.view(-1)
        for j in range(0, flat.numel(), max(1, flat.numel() // 3)):
            old = float(flat[j])
            flat[j] = old + eps
            up = _meta_value(m, batch, targets, v1, v2)
            flat[j] = old - eps
            down = _meta_value(m, batch, targets, v1, v2)
            flat[j] = old
            fd = (up - down) / (2 * eps)
            assert abs(fd - float(gflat[j])) < 1e-7 + 1e-5 * abs(fd), (fd, float(gflat[j]))
            err_hyper += abs(fd - float(gflat[j]))
            err_first += abs(fd - float(fflat[j]))
            checked += 1
    assert checked >= 12
    assert err_hyper < 0.25 * err_first  # the first-order gradient is measurably further off


def test_second_order_term_is_not_zero():
    m, _ = _method()
    batch, targets = m.batch(np.arange(8))
    v1, v2 = m.views(batch, torch.Generator().manual_seed(2))
    _, hyper = m.hypergradient(batch, targets, v1, v2)
    h1, h2 = m.encode(v1).detach(), m.encode(v2).detach()
    first_order = torch.autograd.grad(m.loss.meta_objective(h1, h2, m.aug1(h1), m.aug2(h2)), m.aug_params)
    assert any(not torch.allclose(a, b, atol=1e-8) for a, b in zip(hyper, first_order))


def test_first_order_step_is_the_official_three_steps():
    m, _ = _method("first_order")
    ref = copy.deepcopy(m)
    samples = np.arange(10)
    gen_state = m.generator.get_state()
    m.step(samples)
    # the official trainer, written out: encoder step, augmenter step, encoder step
    ref.generator.set_state(gen_state)
    batch, targets = ref.batch(samples)
    v1, v2 = ref.views(batch, ref.generator)

    def enc_loss():
        h, h1, h2 = ref.encode(batch), ref.encode(v1), ref.encode(v2)
        return rec_loss(h, ref.model.item_weights(), targets) + ref.loss(h1, h2, ref.aug1(h1), ref.aug2(h2))

    for step in (1, 2, 3):
        if step == 2:
            ref.aug_optimizer.zero_grad()
            h1, h2 = ref.encode(v1), ref.encode(v2)
            ref.loss.meta_objective(h1, h2, ref.aug1(h1), ref.aug2(h2)).backward()
            ref.aug_optimizer.step()
        else:
            ref.optimizer.zero_grad()
            for p in ref.aug_params:
                p.requires_grad_(False)
            enc_loss().backward()
            ref.optimizer.step()
            for p in ref.aug_params:
                p.requires_grad_(True)
    for a, b in zip([*m.model.parameters(), *m.aug_params], [*ref.model.parameters(), *ref.aug_params]):
        torch.testing.assert_close(a, b)
