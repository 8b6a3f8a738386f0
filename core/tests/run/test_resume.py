"""The one resume rule (concord.run.resume) and the shared start-up (run_training), through a
tiny trainer: continue to a raised budget, refuse a finished run, cut metrics back to the
checkpoint, start over cleanly, refuse a mistyped folder."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

import pytest
import torch

from concord.errors import CheckpointError, ConfigError
from concord.run import Progress, plan_resume, report_errors, run_training


@dataclass
class Data:
    root: str = "builtin"


@dataclass
class Train:
    epochs: int = 3
    device: str = "cpu"


@dataclass
class Cfg:
    seed: int = 0
    data: Data = field(default_factory=Data)
    train: Train = field(default_factory=Train)
    extendable: bool = True


TRAINED: list[int] = []
#: the epoch at whose end the toy trainer is "killed" (after logging, before checkpointing)
KILL_AT: list[int] = []


def toy_train(run):
    """Epoch e adds e + 1 to a running sum; the checkpoint holds the sum and the epoch."""
    cfg = run.config
    total, start = 0.0, 0
    if run.resume_state is not None:
        total, start = float(run.resume_state["total"]), int(run.resume_state["epoch"]) + 1
    for epoch in range(start, cfg.train.epochs):
        TRAINED.append(epoch)
        total += epoch + 1
        run.dir.log({"epoch": epoch, "total": total})
        if epoch in KILL_AT:
            KILL_AT.clear()
            raise KeyboardInterrupt
        run.dir.save_progress({"epoch": epoch, "total": torch.tensor(total)}, done=epoch + 1,
                              extendable=cfg.extendable)
    return {"total": total, "epochs": cfg.train.epochs}


def _args(out, *sets, resume=False):
    return argparse.Namespace(config=None, overrides=list(sets), output=str(out), resume=resume)


def _train(out, *sets, resume=False):
    TRAINED.clear()
    run_training(_args(out, *sets, resume=resume), Cfg, toy_train, print_report=False)
    return json.loads((out / "report.json").read_text())


def _epochs(out):
    return [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_finished_run_with_the_same_budget_is_refused_and_nothing_is_rewritten(tmp_path):
    out = tmp_path / "r"
    _train(out)
    before = {p.name: p.read_bytes() for p in (out / "config.yaml", out / "report.json", out / "metrics.jsonl")}
    with pytest.raises(ConfigError, match=r"already finished \(3 epochs.*raise train.epochs above 3"):
        _train(out, resume=True)
    assert TRAINED == []
    assert {p: (out / p).read_bytes() for p in before} == before


def test_raised_budget_continues_exactly_where_the_run_ended(tmp_path, capsys):
    straight = _train(tmp_path / "a", "train.epochs=5")
    _train(tmp_path / "b")
    resumed = _train(tmp_path / "b", "train.epochs=5", resume=True)
    assert TRAINED == [3, 4]  # only the new epochs
    assert resumed == straight == {"total": 15.0, "epochs": 5}
    assert _epochs(tmp_path / "b") == [0, 1, 2, 3, 4]
    assert "finished after 3 epochs, training on to train.epochs=5" in capsys.readouterr().err


def test_a_budget_below_what_is_done_or_a_fixed_budget_is_refused(tmp_path):
    out = tmp_path / "r"
    KILL_AT[:] = [3]
    with pytest.raises(KeyboardInterrupt):
        _train(out, "train.epochs=5")
    with pytest.raises(ConfigError, match=r"its checkpoint is after 3 epochs; pass train.epochs >= 3"):
        _train(out, "train.epochs=2", resume=True)
    out2 = tmp_path / "fixed"
    _train(out2, "extendable=false")
    with pytest.raises(ConfigError, match="cannot change its budget once started"):
        _train(out2, "extendable=false", "train.epochs=6", resume=True)


def test_kill_after_logging_resumes_to_the_same_metrics_as_an_uninterrupted_run(tmp_path):
    straight = _train(tmp_path / "a", "train.epochs=5")
    out = tmp_path / "b"
    KILL_AT[:] = [2]
    with pytest.raises(KeyboardInterrupt):
        _train(out, "train.epochs=5")
    assert _epochs(out) == [0, 1, 2]  # epoch 2 was logged, its checkpoint never written
    resumed = _train(out, "train.epochs=5", resume=True)
    assert TRAINED == [2, 3, 4]
    assert resumed == straight
    assert (out / "metrics.jsonl").read_text() == (tmp_path / "a" / "metrics.jsonl").read_text()


def test_resume_cuts_metrics_back_to_the_checkpoint(tmp_path):
    out = tmp_path / "b"
    _train(out, "train.epochs=5")
    # simulate a kill after epoch 3 was logged but before its checkpoint: rewind last.pt
    from concord.run import load_checkpoint_progress, save_checkpoint

    _, progress = load_checkpoint_progress(out / "checkpoints" / "last.pt")
    assert progress["metrics_rows"] == 5
    rewound = Progress(unit="epoch", done=3, budget=5, metrics_rows=3)
    save_checkpoint({"epoch": 2, "total": torch.tensor(6.0)}, out / "checkpoints" / "last.pt",
                    progress=rewound.as_dict())
    resumed = _train(out, "train.epochs=5", resume=True)
    assert TRAINED == [3, 4]
    assert _epochs(out) == [0, 1, 2, 3, 4]  # not 0..4 followed by 3, 4
    assert resumed["total"] == 15.0


def test_resume_of_a_folder_without_a_run_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match=r"there is no run in .*typo.* to resume"):
        _train(tmp_path / "typo", resume=True)
    assert not (tmp_path / "typo").exists()


def test_corrupt_checkpoint_then_start_over_clears_the_old_metrics(tmp_path, capsys):
    out = tmp_path / "r"
    _train(out, "train.epochs=5")
    last = out / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="delete it and run again with --resume to start the run over"):
        _train(out, "train.epochs=5", resume=True)
    last.unlink()
    _train(out, "train.epochs=3", resume=True)
    assert TRAINED == [0, 1, 2]
    assert _epochs(out) == [0, 1, 2]  # the first attempt's 0..4 are gone
    assert "starting the run over" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("progress", "budget", "outcome"),
    [
        (Progress("epoch", 2, 5), 5, "after 2 of 5 epochs"),
        (Progress("epoch", 2, 5), 8, "now training to train.epochs=8"),
        (Progress("epoch", 5, 5, finished=True), 5, ConfigError),
        (Progress("epoch", 5, 5, finished=True), 7, "training on to train.epochs=7"),
        (Progress("epoch", 5, 5, finished=True, extendable=False), 7, ConfigError),
        (Progress("epoch", 2, 5, extendable=False), 5, "after 2 of 5 epochs"),
        (Progress("epoch", 4, 5), 3, ConfigError),
    ],
)
def test_plan_resume_table(progress, budget, outcome):
    if outcome is ConfigError:
        with pytest.raises(ConfigError):
            plan_resume(progress, "train.epochs", budget, "DIR")
    else:
        assert outcome in plan_resume(progress, "train.epochs", budget, "DIR")


# -- errors: one line for the user's, a traceback for a bug, a hint after Ctrl-C --------------
def test_user_error_is_one_line_and_a_bug_keeps_its_traceback(tmp_path, capsys):
    def bad_config():
        raise ConfigError("train.lr must be > 0")

    assert report_errors(bad_config)() == 2
    err = capsys.readouterr().err
    assert err == "error: train.lr must be > 0\n"

    def bug():
        return [][1]

    assert report_errors(bug)() == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "IndexError" in err
    assert "this is a bug in concord" in err.splitlines()[-1]

    def plain_value_error():  # a ValueError outside the user-error family is a bug, not input
        raise ValueError("shape mismatch inside the trainer")

    assert report_errors(plain_value_error)() == 1
    assert "Traceback" in capsys.readouterr().err


def test_ctrl_c_is_one_line_naming_the_folder_to_resume(tmp_path, capsys):
    out = tmp_path / "r"

    def cli():
        return run_training(_args(out, "train.epochs=5"), Cfg, toy_train, print_report=False)

    KILL_AT[:] = [1]
    assert report_errors(cli)() == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"interrupted; its last checkpoint is kept: continue with the same command plus --resume -o {out}"
    assert "Traceback" not in "\n".join(err)
