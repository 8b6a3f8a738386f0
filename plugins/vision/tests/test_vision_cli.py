"""``concord vision pretrain`` / ``finetune`` end to end on generated CamVid-like data: the run
folder, the report, resuming on schedule, one-line errors, and mmengine's launcher under
torchrun with two CPU processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from concord_vision.cli import main
from concord_vision.hooks import cosine_momentum

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "plugins" / "vision" / "configs"

PRETRAIN = """
_base_ = ["{base}"]
_steps = [dict(name="vision.random_resized_crop", size=48, scale=[0.3, 1.0]),
          dict(name="vision.random_flip", prob=0.5),
          dict(name="vision.color_jitter", prob=0.8)]
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(pipeline=[
    dict(type="LoadImageFromFile"),
    dict(type="ConcordTwoViews", seed=0, view_1=_steps,
         view_2=[*_steps, dict(name="vision.solarize", prob=0.2)]),
    dict(type="ConcordPackTwoViews")]))
model = dict(projector=dict(hidden_channels=64, out_channels=32))
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3))
"""

FINETUNE = """
_base_ = ["{base}"]
crop_size = (48, 48)
model = dict(data_preprocessor=dict(size=crop_size))
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(pipeline=[
    dict(type="LoadImageFromFile"), dict(type="LoadAnnotations"),
    dict(type="RandomResize", scale=(96, 72), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type="RandomCrop", crop_size=crop_size), dict(type="RandomFlip", prob=0.5),
    dict(type="PackSegInputs")]))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = dict(num_workers=0, persistent_workers=False)
train_cfg = dict(val_interval=4)
default_hooks = dict(logger=dict(interval=1))
"""


def _config(tmp_path: Path, name: str, text: str, base: str) -> str:
    path = tmp_path / name
    path.write_text(text.format(base=CONFIGS / base))
    return str(path)


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)


@pytest.mark.slow
def test_pretrain_then_finetune_end_to_end(tmp_path, camvid):
    cfg = _config(tmp_path, "pixpro_tiny.py", PRETRAIN, "pixpro_r18_camvid.py")
    run = tmp_path / "pre"
    assert main(["pretrain", cfg, "--set", f"data.root={camvid.parent}", "--set", "train.steps=4",
                 "--output", str(run)]) == 0
    for name in ("config.py", "metrics.jsonl", "report.json", "backbone.pth", "loss.png"):
        assert (run / name).is_file(), name
    rows = _rows(run)
    assert [r["iter"] for r in rows] == [1, 2, 3, 4]
    assert all("loss_pixel" in r and "lr" in r for r in rows)
    # the momentum rows are the cosine schedule of the 4-iteration run, one per iteration
    for r in rows:
        assert abs(r["momentum"] - cosine_momentum(r["iter"] - 1, 4, 0.99)) < 1e-12
    report = json.loads((run / "report.json").read_text())
    assert report["method"] == "PixPro" and report["iters"] == 4 and report["world_size"] == 1
    ckpt = torch.load(run / "checkpoints" / "iter_4.pth", weights_only=True)  # no pickled classes
    assert ckpt["meta"]["iter"] == 4
    backbone = torch.load(run / "backbone.pth", weights_only=True)["state_dict"]
    assert backbone and all(k.startswith("backbone.") for k in backbone)
    torch.testing.assert_close(backbone["backbone.stem.0.weight"], ckpt["state_dict"]["backbone.stem.0.weight"])

    fine_cfg = _config(tmp_path, "fcn_tiny.py", FINETUNE, "fcn_r18_camvid.py")
    fine = tmp_path / "fine"
    assert main(["finetune", fine_cfg, "--set", f"data.root={camvid.parent}", "--set", "train.steps=4",
                 "--set", f"model.backbone.init_cfg.checkpoint={run / 'backbone.pth'}",
                 "--output", str(fine)]) == 0
    report = json.loads((fine / "report.json").read_text())
    for key in ("miou", "macc", "aacc", "iou.sky", "iou.road", "iou.car", "iou.bicyclist"):
        assert key in report, key
    assert 0 <= report["miou"] <= 100 and report["init"].endswith("backbone.pth")
    assert (fine / "predictions.png").stat().st_size > 0
    assert next(r for r in _rows(fine) if r.get("split") == "test")["mIoU"] == report["miou"]


@pytest.mark.slow
def test_resume_continues_the_schedule(tmp_path, camvid, capsys):
    cfg = _config(tmp_path, "byol_tiny.py", PRETRAIN, "byol_r18_camvid.py")
    whole, part = tmp_path / "whole", tmp_path / "part"
    args = ["--set", f"data.root={camvid.parent}", "--set", "train.steps=6"]
    assert main(["pretrain", cfg, *args, "--output", str(whole)]) == 0
    # an interrupted run: the same folder as it stood at the iteration-3 checkpoint
    shutil.copytree(whole, part)
    ckpts = part / "checkpoints"
    (ckpts / "iter_6.pth").unlink()
    (ckpts / "last_checkpoint").write_text(str((ckpts / "iter_3.pth").resolve()))
    rows = [json.loads(x) for x in (part / "metrics.jsonl").read_text().splitlines()]
    (part / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:4]))  # a torn run
    assert main(["pretrain", cfg, *args, "--output", str(part), "--resume"]) == 0
    got, want = _rows(part), _rows(whole)
    assert [r["iter"] for r in got] == [1, 2, 3, 4, 5, 6]  # cut back to 3, then 4..6 appended
    for a, b in zip(got[3:], want[3:]):
        assert a["lr"] == pytest.approx(b["lr"], rel=1e-9)  # the LR schedule continued
        assert a["momentum"] == pytest.approx(b["momentum"], rel=1e-12)  # and the momentum one
    assert json.loads((part / "report.json").read_text())["iters"] == 6
    # the core's resume rule: a changed configuration, a finished run and a changed budget are
    # refused (mmengine would restore the old LR schedule's end)
    for extra, why in ((["--set", "model.momentum=0.9"], "different configuration"),
                       ([], "already finished"),
                       (["--set", "train.steps=8"], "cannot change its budget once started")):
        assert main(["pretrain", cfg, *args, *extra, "--output", str(part), "--resume"]) == 2
        assert why in capsys.readouterr().err


def _one_line_error(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("error:") and match in err[-1], err[-1:]


def test_bad_input_is_one_line(tmp_path, camvid, capsys):
    cfg = _config(tmp_path, "pixpro_tiny.py", PRETRAIN, "pixpro_r18_camvid.py")
    _one_line_error(capsys, ["pretrain", cfg, "--set", "model.projektor.out_channels=8"],
                    "has no 'projektor' (did you mean 'projector'?)")
    _one_line_error(capsys, ["pretrain", cfg, "--set", "optim_wrapper.optimizer.lrr=1"],
                    "valid keys there: lr, momentum, type, weight_decay")
    bad = tmp_path / "bad_type.py"
    bad.write_text(f'_base_ = ["{cfg}"]\nmodel = dict(type="PixProo")\n')
    _one_line_error(capsys, ["pretrain", str(bad)], "type 'PixProo' is not a registered module; close matches: PixPro")
    fine = _config(tmp_path, "fcn_tiny.py", FINETUNE, "fcn_r18_camvid.py")
    _one_line_error(capsys, ["finetune", fine, "--set", f"data.root={camvid.parent}"],
                    "model.backbone.init_cfg.checkpoint is not set")
    torch.save({"state_dict": {"decode_head.conv.weight": torch.zeros(1)}}, tmp_path / "head.pth")
    _one_line_error(capsys, ["finetune", fine, "--set", f"data.root={camvid.parent}",
                             "--set", f"model.backbone.init_cfg.checkpoint={tmp_path / 'head.pth'}"],
                    "holds no backbone weights")
    _one_line_error(capsys, ["export-backbone", str(tmp_path / "missing.pth"), str(tmp_path / "o.pth")],
                    "does not exist")
    _one_line_error(capsys, ["pretrain", cfg, "--set", f"data.root={tmp_path / 'nowhere'}"],
                    f"data_root '{tmp_path / 'nowhere' / 'camvid'}' does not exist")
    for name in ("pixpro_tiny", "bad_type", "fcn_tiny"):  # nothing was written for the refused runs
        assert not (Path.cwd() / "runs" / name).exists()


def test_concord_command_dispatches_to_the_plugin(tmp_path, capsys):
    from concord.cli import main as concord_main

    assert concord_main(["vision", "export-backbone", str(tmp_path / "none.pth"), str(tmp_path / "o.pth")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.distributed
def test_mmengine_launcher_under_torchrun_two_cpu_processes(tmp_path, camvid):
    cfg = _config(tmp_path, "pixcontrast_tiny.py", PRETRAIN, "pixcontrast_r18_camvid.py")
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CONCORD_PROGRESS": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "concord_vision.cli", "pretrain", cfg, "--launcher", "pytorch", "--output", str(out),
         "--set", f"data.root={camvid.parent}", "--set", "train.steps=2"],
        capture_output=True, text=True, env=env, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["world_size"] == 2 and report["iters"] == 2
    assert (out / "backbone.pth").is_file()
