"""``concord <domain> evaluate RUN``'s shared start-up: a run folder or one of its checkpoints,
the run's config with overrides, the report written beside the run (never over report.json)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field

import pytest

from concord.errors import ConfigError
from concord.run.config import config_to_dict, dump_yaml
from concord.run.evaluate import add_evaluate_arguments, run_evaluation


@dataclass
class _Data:
    root: str = "data"


@dataclass
class _Train:
    epochs: int = 1
    device: str = "cpu"


@dataclass
class _Config:
    seed: int = 0
    data: _Data = field(default_factory=_Data)
    train: _Train = field(default_factory=_Train)


def _run(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    dump_yaml(config_to_dict(_Config(seed=7)), run / "config.yaml")
    (run / "checkpoints" / "last.pt").write_bytes(b"")
    (run / "report.json").write_text('{"acc": 0.5}\n')
    return run


def _args(*argv):
    p = argparse.ArgumentParser()
    add_evaluate_arguments(p)
    return p.parse_args(list(argv))


def test_a_run_folder_or_a_checkpoint_with_overrides(tmp_path, capsys):
    run = _run(tmp_path)
    seen = []

    def evaluate(ev):
        seen.append((ev.config.seed, ev.config.data.root, ev.run_dir, ev.checkpoint, str(ev.device)))
        return {"acc": 0.75, "loss": float("nan"), "nested": {"k": 1}}

    assert run_evaluation(_args(str(run), "--set", "data.root=/moved"), _Config, evaluate) == 0
    assert seen[-1] == (7, "/moved", run, None, "cpu")
    written = json.loads((run / "evaluation.json").read_text())
    assert written == {"acc": 0.75, "loss": None, "nested.k": 1}
    assert json.loads(capsys.readouterr().out) == written
    assert json.loads((run / "report.json").read_text()) == {"acc": 0.5}  # untouched
    out = tmp_path / "elsewhere.json"
    assert run_evaluation(_args(str(run / "checkpoints" / "last.pt"), "-o", str(out)), _Config, evaluate) == 0
    assert seen[-1][3] == run / "checkpoints" / "last.pt" and out.is_file()


def test_a_folder_without_a_run_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no run in"):
        run_evaluation(_args(str(tmp_path)), _Config, lambda ev: {})
    with pytest.raises(ConfigError, match="does not exist"):
        run_evaluation(_args(str(tmp_path / "typo")), _Config, lambda ev: {})
    stray = tmp_path / "model.pt"
    stray.write_bytes(b"")
    with pytest.raises(ConfigError, match="not a checkpoint of a run folder"):
        run_evaluation(_args(str(stray)), _Config, lambda ev: {})
