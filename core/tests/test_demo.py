"""`concord demo train`: the README's main job, its run folder, and exact --resume."""

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


def test_default_job_beats_the_untrained_encoder(tmp_path):
    report = _run(tmp_path, "full")
    assert report["probe_acc_trained"] > report["probe_acc_untrained"] + 0.02
    for f in ("config.yaml", "metrics.jsonl", "report.json", "curves.png", "embedding_pca.png",
              "checkpoints/last.pt"):
        assert (tmp_path / "full" / f).exists(), f


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
