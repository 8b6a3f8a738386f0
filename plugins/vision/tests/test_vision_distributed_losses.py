"""PixContrast (the core's info_nce with vision.pixel_pairs, gather=True) and the PixPro loss
(global_mean=True) under two gloo processes with uneven batches (3 images + 1): the loss and
the gradients reaching every rank's pixels equal the single-process result on the global batch."""

from __future__ import annotations

import pytest
import torch

from concord.losses import InfoNCE
from concord.testing import run_distributed
from concord_vision.geometry import bin_coordinates
from concord_vision.losses import PixProLoss
from concord_vision.pairs import global_image_ids

SPLIT = (3, 1)  # images on rank 0 and rank 1
HW = (3, 3)


def _batch():
    g = torch.Generator().manual_seed(0)
    n = sum(SPLIT)
    xy = torch.rand(n, 2, 2, generator=g) * torch.tensor([120.0, 90.0])
    wh = 60 + torch.rand(n, 2, 2, generator=g) * torch.tensor([120.0, 90.0])
    boxes = torch.cat([xy, xy + wh], dim=2)  # (N, view, 4)
    flips = torch.rand(n, 2, generator=g) < 0.5
    rows = n * HW[0] * HW[1]
    q = torch.randn(rows, 8, generator=g)
    k = q + torch.randn(rows, 8, generator=g)
    return boxes, flips, q, k


def _losses():
    contrast = InfoNCE(sampler={"name": "vision.pixel_pairs", "threshold": 0.7}, temperature=0.3,
                       positives="sum", gather=True, empty_positives="ignore")
    return contrast, PixProLoss(global_mean=True)


def _run(boxes, flips, q, k, ids):
    c1 = bin_coordinates(boxes[:, 0], flips[:, 0], HW, ids)
    c2 = bin_coordinates(boxes[:, 1], flips[:, 1], HW, ids)
    q, k = q.clone().requires_grad_(True), k.clone().requires_grad_(True)
    contrast, pixpro = _losses()
    out = {}
    for name, loss in (("contrast", contrast(q, k, query_labels=c1, key_labels=c2)),
                       ("pixpro", pixpro(q, k, c1, c2))):
        gq, gk = torch.autograd.grad(loss, (q, k))
        out[name] = (loss.detach(), gq, gk)
    return out


def _worker(rank, world_size, boxes, flips, q, k):
    torch.set_num_threads(1)
    lo = sum(SPLIT[:rank])
    images = slice(lo, lo + SPLIT[rank])
    per = HW[0] * HW[1]
    rows = slice(lo * per, (lo + SPLIT[rank]) * per)
    ids = global_image_ids(SPLIT[rank])
    out = _run(boxes[images], flips[images], q[rows], k[rows], ids)
    return {"ids": ids, "rows": (rows.start, rows.stop), "out": out}


@pytest.mark.distributed
def test_two_uneven_processes_match_one_process():
    boxes, flips, q, k = _batch()
    single = _run(boxes, flips, q, k, torch.arange(sum(SPLIT)))
    results = run_distributed(_worker, 2, boxes, flips, q, k)
    assert results[0]["ids"].tolist() == [0, 1, 2] and results[1]["ids"].tolist() == [3]
    for r in results:
        a, b = r["rows"]
        for name, (loss, gq, gk) in single.items():
            got_loss, got_gq, got_gk = r["out"][name]
            torch.testing.assert_close(got_loss, loss, rtol=1e-5, atol=1e-6, msg=f"{name} loss")
            torch.testing.assert_close(got_gq, gq[a:b], rtol=1e-4, atol=1e-7, msg=f"{name} query grad")
            torch.testing.assert_close(got_gk, gk[a:b], rtol=1e-4, atol=1e-7, msg=f"{name} key grad")
    # the pixel loss reaches keys of other images: a key gradient outside the own image's rows
    assert bool((single["contrast"][2][27:] != 0).any())
