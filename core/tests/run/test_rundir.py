"""Output folder, atomic checkpoints, metrics and resumption rules."""

from __future__ import annotations

import json
import os

import pytest
import torch

from concord.errors import ConfigError
from concord.run import (
    CheckpointError,
    RunDir,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    state = {"model": {"w": torch.randn(3, 2)}, "epoch": 4, "rng": capture_rng(), "name": "x"}
    save_checkpoint(state, tmp_path / "c.pt")
    back = load_checkpoint(tmp_path / "c.pt")
    torch.testing.assert_close(back["model"]["w"], state["model"]["w"])
    assert back["epoch"] == 4 and back["name"] == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary left behind


def test_corrupt_and_foreign_checkpoints_raise_clearly(tmp_path):
    save_checkpoint({"a": torch.ones(1000)}, tmp_path / "c.pt")
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "c.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "c.pt")
    torch.save({"plain": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a concord checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")


def test_failed_write_keeps_the_previous_checkpoint(tmp_path):
    save_checkpoint({"v": 1}, tmp_path / "c.pt")

    class Boom:
        def __reduce__(self):
            raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        save_checkpoint({"v": Boom()}, tmp_path / "c.pt")
    assert load_checkpoint(tmp_path / "c.pt") == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_rng_capture_restores_every_generator():
    import random

    import numpy as np

    state = capture_rng()
    a = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    restore_rng(state)
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == a


def test_rundir_refuses_to_overwrite_and_checks_config_on_resume(tmp_path):
    run = RunDir(tmp_path / "r")
    run.write_config({"seed": 0, "train": {"epochs": 3, "lr": 0.1}})
    with pytest.raises(ConfigError, match="already holds a run; pass --resume"):
        RunDir(tmp_path / "r")
    resumed = RunDir(tmp_path / "r", resume=True)
    resumed.write_config({"seed": 0, "train": {"epochs": 10, "lr": 0.1}})  # budget may grow
    with pytest.raises(ConfigError, match=r"train.lr: 0.1 -> 0.2"):
        RunDir(tmp_path / "r", resume=True).write_config({"seed": 0, "train": {"epochs": 10, "lr": 0.2}})


def test_metrics_log_keep_and_torn_line(tmp_path):
    run = RunDir(tmp_path / "r")
    for e in range(4):
        run.log({"epoch": e, "loss": 1.0 / (e + 1), "t": torch.tensor(2.5)})
    with open(run.metrics_path, "a") as fh:
        fh.write('{"epoch": 4, "lo')  # a kill in the middle of a write
    assert [r["epoch"] for r in run.metrics()] == [0, 1, 2, 3]
    assert run.metrics()[0]["t"] == 2.5
    run.keep_metrics(lambda r: r["epoch"] < 2)
    assert [json.loads(line)["epoch"] for line in run.metrics_path.read_text().splitlines()] == [0, 1]


def test_report_is_flat_and_json(tmp_path):
    run = RunDir(tmp_path / "r")
    written = run.write_report({"test": {"acc": 0.5}, "nan": float("nan"), "n": torch.tensor(3)})
    # JSON has no NaN: null, never the string "nan" (which a reader would take for a value)
    assert written == {"test.acc": 0.5, "nan": None, "n": 3}
    assert json.loads(run.report_path.read_text()) == written


def test_plot_metrics_writes_png(tmp_path):
    run = RunDir(tmp_path / "r")
    for e in range(3):
        run.log({"epoch": e, "loss": 3 - e})
    out = run.plot_metrics(["loss"])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and os.path.getsize(out) > 1000


def test_atomic_files_follow_the_umask(tmp_path):
    """mkstemp creates 0600 files; a run folder on a shared server must be readable by the group
    (a wrong implementation that keeps mkstemp's mode gives 0o600 here)."""
    old = os.umask(0o022)
    try:
        run = RunDir(tmp_path / "r")
        run.write_report({"a": 1})
        run.budget = ("train.epochs", 3)
        run.save_progress({"w": torch.ones(1)}, done=1)
        assert (run.report_path.stat().st_mode & 0o777) == 0o644
        assert ((run.checkpoint_dir / "last.pt").stat().st_mode & 0o777) == 0o644
        os.umask(0o077)
        run.write_report({"a": 2})
        assert (run.report_path.stat().st_mode & 0o777) == 0o600
    finally:
        os.umask(old)


def test_stale_temporaries_of_a_killed_write_are_removed_on_open(tmp_path):
    run = RunDir(tmp_path / "r")
    run.write_config({"seed": 0})
    stale = [run.checkpoint_dir / ".last.pt.abc123.tmp", run.path / ".report.json.x.tmp"]
    for p in stale:
        p.write_bytes(b"half")
    keep = run.checkpoint_dir / "best.pt"
    keep.write_bytes(b"x")
    RunDir(tmp_path / "r", resume=True)
    assert not any(p.exists() for p in stale)
    assert keep.exists()


def test_progress_is_saved_with_the_metric_rows_it_has_seen(tmp_path):
    from concord.run import load_checkpoint_progress

    run = RunDir(tmp_path / "r")
    run.budget = ("train.steps", 100)
    run.log({"step": 0})
    run.log({"step": 10})
    run.save_progress({"a": 1}, done=20)
    run.log({"step": 20})  # logged after the checkpoint: a resume must drop it
    state, progress = load_checkpoint_progress(run.checkpoint_dir / "last.pt")
    assert state == {"a": 1}
    assert progress == {"unit": "step", "done": 20, "budget": 100, "finished": False,
                        "extendable": True, "metrics_rows": 2, "reason": ""}
    run.mark_finished()
    assert load_checkpoint_progress(run.checkpoint_dir / "last.pt")[1]["finished"] is True


def test_a_non_writer_writes_nothing(tmp_path):
    lead = RunDir(tmp_path / "r")
    lead.write_config({"seed": 0})
    follower = RunDir(tmp_path / "r", resume=True, writer=False)
    follower.budget = ("train.epochs", 2)
    follower.log({"epoch": 0})
    follower.write_report({"a": 1})
    follower.save_progress({"a": 1}, done=1)
    follower.save_checkpoint({"a": 1}, "best.pt")
    assert sorted(p.name for p in (tmp_path / "r").rglob("*")) == ["checkpoints", "config.yaml"]
