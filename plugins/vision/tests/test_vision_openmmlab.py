"""The OpenMMLab side: mmcv transforms in a real pipeline, the CamVid dataset, the IoU metric,
the backbone export loaded by an unmodified mmseg config, and checkpoint safety."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from concord.run.checkpoint import CheckpointError
from concord_vision.registration import register

register()
init_default_scope("mmseg")

from mmseg.registry import DATASETS, MODELS  # noqa: E402

from concord_vision.augment import byol_view_steps  # noqa: E402
from concord_vision.checkpoints import export_backbone  # noqa: E402
from concord_vision.evaluation import PerClassIoUMetric  # noqa: E402
from concord_vision.geometry import bin_centres  # noqa: E402
from concord_vision.models import PixPro  # noqa: E402


def _pipeline(seed=0, size=32):
    v1, v2 = byol_view_steps(size=size, scale=(0.2, 1.0), sigma=(0.1, 0.5))
    return Compose([dict(type="LoadImageFromFile"),
                    dict(type="ConcordTwoViews", seed=seed, view_1=v1, view_2=v2),
                    dict(type="ConcordPackTwoViews")])


def test_two_view_pipeline_packs_boxes_that_locate_the_pixels(tmp_path):
    import cv2

    img = np.zeros((72, 96, 3), dtype=np.uint8)
    img[..., 0] = np.arange(96, dtype=np.uint8)[None]  # blue channel = x
    img[..., 1] = np.arange(72, dtype=np.uint8)[:, None]  # green channel = y
    cv2.imwrite(str(tmp_path / "a.png"), img)
    geometry = [dict(name="vision.random_resized_crop", size=24, scale=[0.3, 1.0]),
                dict(name="vision.random_flip", prob=0.5)]
    pipe = Compose([dict(type="LoadImageFromFile"),
                    dict(type="ConcordTwoViews", seed=3, view_1=geometry, view_2=geometry),
                    dict(type="ConcordPackTwoViews")])
    out = pipe({"img_path": str(tmp_path / "a.png")})
    assert out["inputs"].shape == (2, 3, 24, 24) and out["inputs"].dtype == torch.uint8
    sample = out["data_samples"]
    for v in range(2):
        c = bin_centres(sample.crop_boxes[v:v + 1], sample.flips[v:v + 1], (24, 24))[0].reshape(24, 24, 2)
        x_read = out["inputs"][v, 0].double()
        assert (x_read - (c[..., 0] - 0.5)).abs().max() <= 1.0


def test_transform_seed_is_explicit_and_streams_differ(tmp_path, camvid):
    path = str(next((camvid / "train").glob("*.png")))
    a = _pipeline(seed=1)({"img_path": path})
    b = _pipeline(seed=1)({"img_path": path})
    c = _pipeline(seed=2)({"img_path": path})
    assert torch.equal(a["inputs"], b["inputs"]) and torch.equal(a["data_samples"].crop_boxes,
                                                                 b["data_samples"].crop_boxes)
    assert not torch.equal(a["data_samples"].crop_boxes, c["data_samples"].crop_boxes)
    # two data-loader workers (different torch worker seeds) never share a stream
    pipe = _pipeline(seed=1)
    step = pipe.transforms[1]
    step._stream_id = lambda: 11
    g11 = step.generator().initial_seed()
    step._stream_id = lambda: 12
    assert step.generator().initial_seed() != g11


def test_camvid_maps_void_to_ignore_and_keeps_a_seeded_label_subset(camvid):
    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"), dict(type="PackSegInputs")]
    ds = DATASETS.build(dict(type="CamVidDataset", data_root=str(camvid), split="train", pipeline=pipeline))
    assert len(ds) == 8 and len(ds.metainfo["classes"]) == 11
    seg = ds[0]["data_samples"].gt_sem_seg.data
    assert set(torch.unique(seg).tolist()) <= {0, 3, 8, 255}
    assert bool((seg[0, :, :2] == 255).all())  # the void border became ignore_index
    half = [DATASETS.build(dict(type="CamVidDataset", data_root=str(camvid), split="train",
                                label_fraction=0.5, subset_seed=s, pipeline=pipeline)) for s in (0, 0, 1)]
    paths = [[d["img_path"] for d in h.load_data_list()] for h in half]
    assert len(paths[0]) == 4 and paths[0] == paths[1] and paths[0] != paths[2]
    with pytest.raises(ValueError, match=r"label_fraction must lie in \(0, 1\]"):
        DATASETS.build(dict(type="CamVidDataset", data_root=str(camvid), label_fraction=0.0))


def test_camvid_refuses_labels_outside_the_classes(make_camvid):
    root = make_camvid("bad", sizes={"train": 2}, bad_label=13)
    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"), dict(type="PackSegInputs")]
    ds = DATASETS.build(dict(type="CamVidDataset", data_root=str(root), split="train", pipeline=pipeline))
    with pytest.raises(ValueError, match=r"train_000.png: label values \[13\] outside the classes 0..10"):
        ds[0]


def test_per_class_iou_against_hand_counts():
    metric = PerClassIoUMetric(ignore_index=255)
    metric.dataset_meta = {"classes": ("a", "b", "c")}
    pred = torch.tensor([[0, 0, 1, 1], [2, 2, 2, 0]])
    gt = torch.tensor([[0, 1, 1, 1], [2, 2, 255, 255]])
    metric.process({}, [{"pred_sem_seg": {"data": pred[None]}, "gt_sem_seg": {"data": gt[None]}}])
    out = metric.compute_metrics(metric.results)
    # a: pred {0,1,(1,3)} vs gt {0}: I=1, U=2; b: pred {2,3} gt {1,2,3}: I=2, U=3;
    # c: pred {(1,0),(1,1)} (the rest ignored) gt {(1,0),(1,1)}: I=2, U=2
    assert out["IoU.a"] == 50.0 and out["IoU.b"] == round(200 / 3, 2) and out["IoU.c"] == 100.0
    assert out["mIoU"] == round((0.5 + 2 / 3 + 1) / 3 * 100, 2)
    assert out["aAcc"] == round(5 / 6 * 100, 2)  # 5 of the 6 labelled pixels right


def _pretrain_checkpoint(tmp_path):
    torch.manual_seed(0)
    backbone = dict(type="ResNetV1c", depth=18, out_indices=(3,), norm_cfg=dict(type="BN", requires_grad=True))
    model = PixPro(backbone, in_channels=512, projector=dict(hidden_channels=64, out_channels=32))
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.normal_()  # weights no initialiser would produce
    path = tmp_path / "iter_1.pth"
    torch.save({"meta": {"iter": 1}, "state_dict": model.state_dict()}, path)
    return model, path


def test_exported_backbone_loads_into_an_unmodified_mmseg_config(tmp_path):
    model, ckpt = _pretrain_checkpoint(tmp_path)
    out = export_backbone(ckpt, tmp_path / "backbone.pth")
    saved = torch.load(out, weights_only=True)  # plain tensors only
    assert all(k.startswith("backbone.") for k in saved["state_dict"])
    import mmseg

    # mmseg's own FCN-R18 config file, as installed with mmseg (it inherits mmseg's _base_ files)
    shipped = Path(mmseg.__file__).parent / ".mim" / "configs" / "fcn" / "fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py"
    cfg = Config.fromfile(str(shipped))
    cfg.model.pretrained = None  # the file names an open-mmlab:// download; replaced by:
    cfg.model.backbone.init_cfg = dict(type="Pretrained", checkpoint=str(out), prefix="backbone.")
    seg = MODELS.build(cfg.model)
    assert type(seg.backbone).__name__ == "ResNetV1c"
    seg.init_weights()
    ours = model.backbone.state_dict()
    theirs = seg.backbone.state_dict()
    assert set(ours) == set(theirs)
    for k, v in ours.items():
        assert torch.equal(theirs[k], v), k


def test_export_refuses_a_checkpoint_without_backbone_weights_or_with_pickled_objects(tmp_path):
    torch.save({"state_dict": {"head.weight": torch.zeros(2)}}, tmp_path / "no_backbone.pth")
    with pytest.raises(CheckpointError, match=r"holds no backbone weights.*head\.weight"):
        export_backbone(tmp_path / "no_backbone.pth", tmp_path / "b.pth")

    from mmengine.logging import HistoryBuffer

    # what a stock mmengine Runner checkpoint carries (a pickled class holding numpy arrays)
    torch.save({"state_dict": {"backbone.w": torch.zeros(1)},
                "message_hub": {"log_scalars": {"loss": HistoryBuffer([1.0], [1])}}}, tmp_path / "pickled.pth")
    with pytest.raises(CheckpointError, match="pickles Python objects, so it is not loaded"):
        export_backbone(tmp_path / "pickled.pth", tmp_path / "b.pth")
