"""The pretraining models against their formulas computed a second way: hand-listed bin centres,
brute-force pair loops, the EMA rule, the cosine schedule in closed form, DenseCL's matching on
a known permutation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement

from concord_vision.registration import register

register()
init_default_scope("mmseg")

from concord_vision.hooks import DenseCLWarmupHook, MomentumHook, cosine_momentum  # noqa: E402
from concord_vision.models import BYOL, DenseCL, PixContrast, PixPro, TwoViewPreprocessor, Views  # noqa: E402
from concord_vision.models.densecl import moco_loss  # noqa: E402

TINY = dict(type="ResNetV1c", depth=18, stem_channels=16, base_channels=8, out_indices=(3,),
            norm_cfg=dict(type="BN", requires_grad=True))
HEAD = dict(hidden_channels=32, out_channels=16)
SIZE = 96  # -> 3 x 3 maps
# image 0: view 2 flipped; image 1: different scales -- asymmetric, so swapping the views'
# coordinates, ignoring a flip or pairing view 1 with itself changes the pairs
BOXES = [((0.0, 0.0, 120.0, 90.0), (40.0, 30.0, 160.0, 120.0)),
         ((30.0, 20.0, 230.0, 170.0), (0.0, 0.0, 150.0, 120.0))]
FLIPS = [(False, True), (True, False)]


def _views(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 2, 3, SIZE, SIZE, generator=g)
    samples = []
    for boxes, flips in zip(BOXES, FLIPS):
        s = BaseDataElement()
        s.crop_boxes = torch.tensor(boxes, dtype=torch.float64)
        s.flips = torch.tensor(flips)
        samples.append(s)
    return x, samples


def _centres(box, flip, n=3):
    """Bin centres of an n x n map written out: row-major, x mirrored within the box if flipped."""
    x0, y0, x1, y1 = box
    bw, bh = (x1 - x0) / n, (y1 - y0) / n
    out = []
    for r in range(n):
        for c in range(n):
            x = x1 - (c + 0.5) * bw if flip else x0 + (c + 0.5) * bw
            out.append((x, y0 + (r + 0.5) * bh))
    return out, math.hypot(bw, bh)


def _pairs(b, first, second):
    (c1, d1), (c2, d2) = (_centres(BOXES[b][v], FLIPS[b][v]) for v in (first, second))
    return [(i, j) for i, a in enumerate(c1) for j, p in enumerate(c2)
            if math.hypot(a[0] - p[0], a[1] - p[1]) / max(d1, d2) < 0.7]


def _cos(a, b):
    return float(F.cosine_similarity(a, b, dim=0))


def _maps(model, head, x):
    f = model.backbone(x)[-1]
    return f, head(f)


def test_pixpro_loss_is_eq5_over_hand_pairs_both_directions():
    torch.manual_seed(0)
    model = PixPro(TINY, in_channels=64, projector=HEAD).eval()
    x, samples = _views()
    got = model.loss(Views(x, samples))["loss_pixel"]
    with torch.no_grad():  # the first EMA step copies the online network: x' = x
        _, p1 = _maps(model, model.projector, x[:, 0])
        _, p2 = _maps(model, model.projector, x[:, 1])
        y1, y2 = model.propagation(p1), model.propagation(p2)
    total = 0.0
    for y, t, first, second in ((y1, p2, 0, 1), (y2, p1, 1, 0)):
        per_image = []
        for b in range(2):
            pairs = _pairs(b, first, second)
            s = sum(_cos(y[b].flatten(1)[:, i], t[b].flatten(1)[:, j]) for i, j in pairs)
            per_image.append(s / (len(pairs) + 1e-6))
        total += -2 * sum(per_image) / 2
    assert math.isclose(float(got), total, rel_tol=1e-4)


def test_pixcontrast_is_eq2_with_every_other_pixel_a_negative():
    torch.manual_seed(0)
    model = PixContrast(TINY, in_channels=64, projector=HEAD).eval()
    x, samples = _views(1)
    got = model.loss(Views(x, samples))["loss_pixel"]
    with torch.no_grad():
        _, q1 = _maps(model, model.projector, x[:, 0])
        _, q2 = _maps(model, model.projector, x[:, 1])
    rows = lambda m: F.normalize(m.flatten(2).transpose(1, 2).reshape(-1, m.shape[1]), dim=1)  # noqa: E731

    def direction(q, k, first, second):
        q, k = rows(q), rows(k)
        terms = []
        for b in range(2):
            pos = {}
            for i, j in _pairs(b, first, second):
                pos.setdefault(i, []).append(b * 9 + j)
            for i, js in pos.items():
                s = (q[b * 9 + i] @ k.T) / 0.3  # every key pixel of the batch is in the denominator
                terms.append(-math.log(sum(math.exp(float(s[j])) for j in js) /
                                       sum(math.exp(float(v)) for v in s)))
        return sum(terms) / len(terms)  # queries without a positive are left out

    expected = (direction(q1, q2, 0, 1) + direction(q2, q1, 1, 0)) / 2
    assert math.isclose(float(got), expected, rel_tol=1e-4)


def test_momentum_update_follows_xi_m_xi_plus_one_minus_m_theta():
    model = PixPro(TINY, in_channels=64, projector=HEAD)
    model.momentum = 0.9
    model.update_target()  # first step: copy
    name, online = next(iter(model.backbone.named_parameters()))
    before = model.target_part("backbone").get_parameter(name).detach().clone()
    with torch.no_grad():
        online.add_(1.0)
    model.update_target()
    after = model.target_part("backbone").get_parameter(name)
    torch.testing.assert_close(after, before + 0.1)  # mmengine's own convention would add 0.9


class _Runner:
    def __init__(self, model, it, total):
        self.model, self.iter, self.max_iters = model, it, total


def test_momentum_hook_is_the_authors_cosine_schedule():
    model = PixPro(TINY, in_channels=64, projector=HEAD)
    hook = MomentumHook(start=0.99)
    for it, expected in ((0, 0.99), (250, 1 - 0.01 * (math.cos(math.pi / 4) + 1) / 2), (500, 0.995),
                         (1000, 1.0)):
        hook.before_train_iter(_Runner(model, it, 1000), 0)
        assert math.isclose(model.momentum, expected, rel_tol=0, abs_tol=1e-12)
        assert math.isclose(model.target.momentum, 1 - expected, abs_tol=1e-12)
    assert cosine_momentum(10, 10, 0.5, 0.9) == 0.9
    with pytest.raises(ValueError, match="start <= end"):
        MomentumHook(start=1.2)


def test_densecl_matches_recover_a_permutation_and_moco_loss_formula():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 8, 3, 3, generator=g)
    perm = torch.randperm(9, generator=g)
    k = q.flatten(2)[:, :, perm].reshape(2, 8, 3, 3)  # key pixel j holds query pixel perm[j]
    match = DenseCL.matches(q, k)
    assert match[0].tolist() == torch.argsort(perm).tolist() == match[1].tolist()

    from concord.queue import MemoryQueue

    queue = MemoryQueue(size=5, dim=4, gather=False)
    queue.enqueue(F.normalize(torch.randn(5, 4, generator=g), dim=1))
    a = F.normalize(torch.randn(3, 4, generator=g), dim=1)
    b = F.normalize(torch.randn(3, 4, generator=g), dim=1)
    expected = 0.0
    for i in range(3):
        pos = math.exp(float(a[i] @ b[i]) / 0.2)
        neg = sum(math.exp(float(a[i] @ n) / 0.2) for n in queue.keys())
        expected += -math.log(pos / (pos + neg)) / 3
    assert math.isclose(float(moco_loss(a, b, queue, 0.2)), expected, rel_tol=1e-5)


def test_densecl_warmup_hook_holds_the_dense_weight_at_zero():
    torch.manual_seed(0)
    model = DenseCL(TINY, in_channels=64, hidden_channels=32, out_channels=16, queue_size=8,
                    loss_lambda=0.5)
    hook = DenseCLWarmupHook(start_iters=3)
    hook.before_train(_Runner(model, 0, 10))
    x, samples = _views()
    hook.before_train_iter(_Runner(model, 2, 10), 0)
    losses = model.loss(Views(x, samples))
    assert model.loss_lambda == 0.0 and float(losses["loss_dense"]) == 0.0
    assert len(model.global_queue) == 2 and len(model.dense_queue) == 2  # keys enqueued
    hook.before_train_iter(_Runner(model, 3, 10), 0)
    losses = model.loss(Views(x, samples))
    assert model.loss_lambda == 0.5 and float(losses["loss_dense"]) > 0


def test_byol_loss_is_two_minus_two_cos_symmetrised():
    torch.manual_seed(0)
    model = BYOL(TINY, in_channels=64, projector=HEAD).eval()
    x, samples = _views()
    got = model.loss(Views(x, samples))["loss_instance"]
    with torch.no_grad():
        pooled = [model.backbone(x[:, v])[-1].mean(dim=(2, 3), keepdim=True) for v in (0, 1)]
        z = [model.projector(p).flatten(1) for p in pooled]
        p = [model.predictor(model.projector(q)).flatten(1) for q in pooled]
    expected = sum(float((2 - 2 * F.cosine_similarity(p[a], z[b])).mean()) for a, b in ((0, 1), (1, 0)))
    assert math.isclose(float(got), expected, rel_tol=1e-5)


def test_preprocessor_reverses_bgr_and_normalises():
    pre = TwoViewPreprocessor(mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 5.0), bgr_to_rgb=True)
    img = torch.zeros(2, 3, 1, 1, dtype=torch.uint8)
    img[:, 0], img[:, 1], img[:, 2] = 50, 60, 70  # B, G, R
    out = pre({"inputs": [img], "data_samples": [None]})["inputs"]
    assert out.shape == (1, 2, 3, 1, 1)
    assert out[0, 0, :, 0, 0].tolist() == [(70 - 10) / 2, (60 - 20) / 4, (50 - 30) / 5]


def test_models_refuse_predict_mode():
    model = BYOL(TINY, in_channels=64, projector=HEAD)
    with pytest.raises(ValueError, match="mode 'loss' and 'tensor'"):
        model(torch.zeros(1, 2, 3, 64, 64), None, mode="predict")


def test_pixpro_instance_branch_is_weighted_byol_on_pooled_predictions():
    torch.manual_seed(0)
    model = PixPro(TINY, in_channels=64, projector=HEAD, instance_weight=0.5).eval()
    x, samples = _views()
    got = model.loss(Views(x, samples))["loss_instance"]
    with torch.no_grad():  # target == online after the first EMA step
        f = [model.backbone(x[:, v])[-1] for v in (0, 1)]
        p = [model.predictor(model.instance_projector(m)).mean(dim=(2, 3)) for m in f]
        z = [model.instance_projector(m).mean(dim=(2, 3)) for m in f]  # project, then pool
    expected = 0.5 * sum(float((2 - 2 * F.cosine_similarity(p[a], z[b])).mean()) for a, b in ((0, 1), (1, 0)))
    assert math.isclose(float(got), expected, rel_tol=1e-5)
