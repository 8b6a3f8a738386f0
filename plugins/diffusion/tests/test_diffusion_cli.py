"""``concord diffusion train`` / ``sample`` end to end on the digits, resume, divergence, bad input."""

from __future__ import annotations

import json
import math

import pytest
import torch

from concord.run import load_checkpoint
from concord_diffusion.cli import main


def _train(cfg, out, *sets):
    args = ["train", str(cfg), "-o", str(out)]
    for s in sets:
        args += ["--set", s]
    return main(args)


def test_end_to_end_report_pipeline_and_sample(tiny_run, tmp_path, capsys):
    """Train 8 steps with evaluation; the run folder's pipeline, loaded with diffusers'
    ConsistencyModelPipeline.from_pretrained unchanged, samples in 1 step exactly what the
    plugin's sampler gives with the checkpoint's EMA weights on the same noise."""
    from diffusers import ConsistencyModelPipeline, UNet2DModel

    from concord_diffusion.ict.consistency_function import ConsistencyFunction
    from concord_diffusion.sampling import consistency_sample

    cfg, _ = tiny_run
    out = tmp_path / "run"
    assert _train(cfg, out, "eval.enabled=true", "eval.n_samples=64", "eval.classifier_width=8") == 0
    report = json.loads((out / "report.json").read_text())
    for key in ("fd_1step", "fd_2step", "precision_1step", "recall_1step"):
        assert math.isfinite(report[key]), key
    assert report["train_steps"] == 8 and 0 <= report["precision_1step"] <= 1
    assert report["feature_net_accuracy"] > 0.5
    for png in ("loss.png", "samples_1step.png", "samples_2step.png", "samples/step_000004.png"):
        assert (out / png).stat().st_size > 0, png
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 9)) and all("num_levels" in r for r in rows)

    pipe = ConsistencyModelPipeline.from_pretrained(out / "pipeline")
    pipe.set_progress_bar_config(disable=True)
    images = pipe(batch_size=6, num_inference_steps=1, generator=torch.Generator().manual_seed(4), output_type="pt").images
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    unet = UNet2DModel.from_config(pipe.unet.config)
    fn = ConsistencyFunction(unet)
    fn.load_state_dict(state["ema"])
    noise = torch.randn((6, 1, 8, 8), generator=torch.Generator().manual_seed(4))
    ours = consistency_sample(fn, noise, [80.0])
    torch.testing.assert_close((ours / 2 + 0.5).clamp(0, 1), images, rtol=0, atol=2e-6)

    capsys.readouterr()
    assert main(["sample", str(out), "--steps", "2", "--n", "9", "--seed", "1"]) == 0
    assert (out / "sample_2step_seed1.png").stat().st_size > 0

    # `evaluate` from the pipeline folder reproduces the report's figures (same seeded streams);
    # from the last checkpoint too (its EMA weights, the run's final N(k)); another 2-step level does not
    keys = ("fd_1step", "fd_2step", "precision_1step", "recall_1step", "precision_2step", "fd_train_vs_reference")
    assert main(["evaluate", str(out)]) == 0
    again = json.loads((out / "evaluation.json").read_text())
    assert {k: again[k] for k in keys} == {k: report[k] for k in keys}
    assert again["sigma_mid_2step"] == report["sigma_mid_2step"] and again["train_steps"] == 8
    assert main(["evaluate", str(out / "checkpoints" / "last.pt"), "-o", str(tmp_path / "ck.json")]) == 0
    from_ck = json.loads((tmp_path / "ck.json").read_text())
    for k in keys:
        assert from_ck[k] == pytest.approx(report[k], rel=1e-5, abs=1e-6), k
    assert main(["evaluate", str(out), "--set", "sample.sigma_mid=1.0", "-o", str(tmp_path / "mid.json")]) == 0
    mid = json.loads((tmp_path / "mid.json").read_text())
    assert mid["fd_1step"] == report["fd_1step"] and mid["fd_2step"] != report["fd_2step"]


def _tensors(state):
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _assert_same_state(a, b):
    for part in ("model", "ema"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), f"{part}.{k}"
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    for i in sa:
        for k, v in _tensors(sa[i]).items():
            assert torch.equal(v, sb[i][k]), f"optimizer {i}.{k}"


def _rows(folder):
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds_per_step"} for r in rows]


CT_RECIPE = ["ict.teacher=ema", "ict.curriculum=ct", "ict.s0=2", "ict.s1=150", "loss.name=l2"]


@pytest.mark.parametrize("recipe", [[], CT_RECIPE], ids=["ict", "original_ct"])
def test_interrupted_and_resumed_equals_uninterrupted(tiny_run, tmp_path, monkeypatch, recipe):
    """A run killed after step 6 (checkpoint at 4) and resumed ends bit-identical to one that
    ran straight through: weights, EMA, optimizer moments, metrics -- with dropout on, the
    curriculum moving (N doubles every step here), and for CT its EMA teacher too."""
    from concord_diffusion.ict.ema import EMA

    cfg, _ = tiny_run
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    assert _train(cfg, straight, *recipe) == 0
    real = EMA.update
    updates_before_kill = 6 * (2 if recipe else 1)  # the sampling EMA (+ CT's teacher EMA) of steps 1-6
    calls = {"n": 0}

    def failing(self, model, decay):
        calls["n"] += 1
        if calls["n"] > updates_before_kill:
            raise KeyboardInterrupt
        return real(self, model, decay)

    monkeypatch.setattr(EMA, "update", failing)
    assert _train(cfg, broken, *recipe) == 130
    monkeypatch.setattr(EMA, "update", real)
    assert load_checkpoint(broken / "checkpoints" / "last.pt")["step"] == 4
    resume = ["train", str(cfg), "-o", str(broken), "--resume"] + [x for s in recipe for x in ("--set", s)]
    assert main(resume) == 0
    a = load_checkpoint(straight / "checkpoints" / "last.pt")
    b = load_checkpoint(broken / "checkpoints" / "last.pt")
    assert a["step"] == b["step"] == 8
    _assert_same_state(a, b)
    if recipe:
        for k in a["teacher"]:
            assert torch.equal(a["teacher"][k], b["teacher"][k])
    assert _rows(straight) == _rows(broken)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tiny_run, tmp_path, monkeypatch, capsys):
    from concord_diffusion.ict.objective import ConsistencyTraining

    cfg, _ = tiny_run
    real = ConsistencyTraining.loss
    calls = {"n": 0}

    def nan_at_step_6(self, *a, **k):
        calls["n"] += 1
        out = real(self, *a, **k)
        return out * float("nan") if calls["n"] == 6 else out

    monkeypatch.setattr(ConsistencyTraining, "loss", nan_at_step_6)
    out = tmp_path / "nan"
    assert _train(cfg, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "loss is nan at step 6" in err[0] and "after step 4" in err[0]
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    assert state["step"] == 4
    assert all(bool(torch.isfinite(v).all()) for v in state["model"].values())


@pytest.mark.parametrize(
    "sets, match",
    [
        (["trian.steps=3"], "unknown config key(s) 'trian' (did you mean 'train'?)"),
        (["ict.s0=2000"], "s0 must be <= s1"),
        (["ict.sigma_min=90"], "sigma_min must be < sigma_max"),
        (["ict.sigma_data=0"], "sigma_data must be finite and > 0"),
        (["ict.sigma_data=-1"], "sigma_data must be finite and > 0"),
        (["model.in_channels=3", "model.out_channels=3"], "the images have 1 channel(s) but the UNet has in_channels=3"),
        (["model.sample_size=16"], "the images are 8x8 but model.sample_size=16"),
        (["loss.name=nope"], "no loss named 'nope'"),
        (["data.root=/nonexistent/folder"], "does not exist"),
    ],
)
def test_bad_input_is_one_line(tiny_run, tmp_path, capsys, sets, match):
    cfg, _ = tiny_run
    assert _train(cfg, tmp_path / "bad", *sets) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0], err


def test_mixed_image_sizes_are_refused(tmp_path, tiny_run, capsys):
    import numpy as np
    from PIL import Image

    cfg, _ = tiny_run
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((9, 8), np.uint8)).save(folder / "b.png")
    assert _train(cfg, tmp_path / "bad", f"data.root={folder}") == 2
    err = capsys.readouterr().err.strip()
    assert "images of mixed sizes" in err and "b.png is 8x9" in err


def test_third_party_distance_trains_by_name(tiny_run, tmp_path):
    """loss.name picks any registered distance: the per-element deviation and the core's l2."""
    cfg, _ = tiny_run
    assert _train(cfg, tmp_path / "pe", "loss.name=diffusion.pseudo_huber_per_element", "train.steps=2") == 0
    assert _train(cfg, tmp_path / "l2", "loss.name=l2", "loss.mean=true", "train.steps=2") == 0
    assert json.loads((tmp_path / "l2" / "report.json").read_text())["loss"] == "l2"
