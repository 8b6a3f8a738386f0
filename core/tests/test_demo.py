"""`concord demo train`: the README's main job -- its headline (few-label probes), its run folder,
and exact --resume."""

from __future__ import annotations

import json

from concord.demo import main


def _run(tmp_path, name, *sets, resume=False):
    argv = ["train", "--output", str(tmp_path / name)]
    for s in sets:
        argv += ["--set", s]
    if resume:
        argv.append("--resume")
    assert main(argv) == 0
    return json.loads((tmp_path / name / "report.json").read_text())


# Margins of the headline test, from the default job at seeds 0, 1, 2 (mean few-label accuracy
# over 10 draws; pretrained - pixels / pretrained - untrained):
#   1 label / class:  +0.089 / +0.092,  +0.085 / +0.080,  +0.138 / +0.121
#   5 labels / class: +0.037 / +0.058,  +0.053 / +0.054,  +0.053 / +0.061
# Each margin is about half the smallest measured gap. A broken pretraining -- a loss that does
# not train the encoder, views that do not vary, a probe fed the untrained weights -- leaves the
# "pretrained" encoder at the untrained one's accuracy (a gap of 0 to it, and below pixels at 5
# labels), far below both margins.
MARGIN_OVER_UNTRAINED = {1: 0.05, 5: 0.03}
MARGIN_OVER_PIXELS = {1: 0.05, 5: 0.02}


def test_default_job_headline_pretraining_pays_with_few_labels(tmp_path):
    """The README's first command: with 1 and 5 labels per class the pretrained encoder's probe
    beats raw pixels and the untrained encoder by the measured margins."""
    report = _run(tmp_path, "full")
    for k in (1, 5):
        pre = report[f"few_label_acc_pretrained_{k}"]
        assert pre - report[f"few_label_acc_untrained_{k}"] >= MARGIN_OVER_UNTRAINED[k], report
        assert pre - report[f"few_label_acc_pixels_{k}"] >= MARGIN_OVER_PIXELS[k], report
    for f in ("config.yaml", "metrics.jsonl", "report.json", "curves.png", "embedding_pca.png",
              "few_labels.png", "few_labels.txt", "checkpoints/last.pt"):
        assert (tmp_path / "full" / f).exists(), f
    table = (tmp_path / "full" / "few_labels.txt").read_text().splitlines()
    assert table[0].split() == ["labels", "/", "class", "pretrained", "untrained", "pixels"]
    assert [row.split()[0] for row in table[1:]] == ["1", "5", "10"]


def test_resume_continues_exactly(tmp_path):
    straight = _run(tmp_path, "a", "train.epochs=4", "model.hidden=32")
    _run(tmp_path, "b", "train.epochs=2", "model.hidden=32")
    resumed = _run(tmp_path, "b", "train.epochs=4", "model.hidden=32", resume=True)
    assert resumed == straight
    assert (tmp_path / "a" / "metrics.jsonl").read_text() == (tmp_path / "b" / "metrics.jsonl").read_text()


def test_bad_config_is_one_clear_error(tmp_path, capsys):
    assert main(["train", "--output", str(tmp_path / "x"), "--set", "train.epoch=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key(s) 'epoch' (did you mean 'epochs'?)" in err
    assert main(["train", "--output", str(tmp_path / "y"), "--set", "loss.name=nt_xnet"]) == 2
    assert "did you mean 'nt_xent'" in capsys.readouterr().err


def test_corrupt_checkpoint_on_resume(tmp_path, capsys):
    _run(tmp_path, "c", "train.epochs=1", "model.hidden=16")
    (tmp_path / "c" / "checkpoints" / "last.pt").write_bytes(b"garbage")
    assert main(["train", "--output", str(tmp_path / "c"), "--set", "train.epochs=2",
                 "--set", "model.hidden=16", "--resume"]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err


def test_a_device_this_machine_lacks_is_one_line(tmp_path, capsys, monkeypatch):
    """`--set train.device=gpu` (a misspelling) and `cuda` on a CPU-only torch each end in one
    line naming the choices, exit 2 -- not a traceback."""
    import torch

    assert main(["train", "--output", str(tmp_path / "a"), "--set", "train.device=gpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "train.device must be one of auto, cpu, cuda or cuda:N, got 'gpu'" in err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", "--output", str(tmp_path / "b"), "--set", "train.device=cuda"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "use cpu or auto" in err and "Traceback" not in err
    assert not (tmp_path / "b").exists()  # nothing was written for a run that cannot start
