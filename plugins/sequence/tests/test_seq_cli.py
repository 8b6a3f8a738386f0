"""``concord sequence train`` end to end on a known Markov chain: the models learn (they beat a
popularity ranking), the report has exactly the documented keys, ``--resume`` continues
bit-for-bit, and bad input ends in one clear error line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from concord.cli import main as concord_main
from concord.testing import check_run_schema
from concord_sequence.cli import main
from concord_sequence.data import leave_one_out, reindex
from concord_sequence.data.synthetic import markov_chain_log, write_user_lines
from concord_sequence.evaluation import metrics_from_ranks
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.loop import REPORT_KEYS

TINY = {
    "seed": 3,
    "data": {"max_len": 8},
    "model": {"hidden": 32, "layers": 1, "heads": 2, "inner": 64, "hidden_dropout": 0.1, "attn_dropout": 0.1},
    "train": {"epochs": 6, "batch_size": 64, "lr": 0.005, "patience": 0, "threads": 1},
    "eval": {"batch_size": 256},
}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("CONCORD_PROGRESS", "0")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("markov")
    log = markov_chain_log(n_users=300, n_items=30, min_len=6, max_len=14, p_next=0.8, seed=0)
    return write_user_lines(folder / "markov.txt", log), log


def _config(tmp_path, chain_file, method="sasrec", **method_opts):
    cfg = json.loads(json.dumps(TINY))
    cfg["data"].update({"root": str(tmp_path), "name": "markov", "path": str(chain_file)})
    cfg["method"] = {"name": method, **method_opts}
    path = tmp_path / f"{method}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _popularity_hr(log, k=5):
    """Rank items by training frequency (a second, model-free way to score the test split)."""
    split = leave_one_out(reindex(log).data, max_len=8)
    counts = np.zeros(split.n_items + 1)
    for u in range(split.n_users):
        np.add.at(counts, split.items[split.offsets[u] : split.offsets[u + 1] - 2], 1)
    ranks = []
    for u in range(split.n_users):
        t = split.items[split.offsets[u + 1] - 1]
        history = set(split.items[split.offsets[u] : split.offsets[u + 1] - 1].tolist()) - {t}
        cands = [i for i in range(1, split.n_items + 1) if i not in history]
        ranks.append(1 + sum(counts[i] >= counts[t] for i in cands if i != t))
    import torch

    return metrics_from_ranks(torch.tensor(ranks))[f"hr@{k}"]


def test_schema_follows_run_conventions():
    check_run_schema(SequenceConfig)


@pytest.mark.parametrize("method", ["sasrec", "cl4srec", "duorec", "mclrec"])
def test_models_learn_the_chain_and_beat_popularity(tmp_path, chain, method, capsys):
    chain_file, log = chain
    cfg = _config(tmp_path, chain_file, method, **({"cl_weight": 0.1} if method != "mclrec" else {}))
    if method == "mclrec":
        data = yaml.safe_load(cfg.read_text())
        cfg.write_text(yaml.safe_dump({**data, "loss": {"beta": 0.1}}))
    epochs = "6" if method in ("sasrec",) else "4"
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--set", f"train.epochs={epochs}"]) == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert sorted(report) == sorted(REPORT_KEYS)
    popularity = _popularity_hr(log)
    assert popularity < 0.35  # a uniform stationary distribution: popularity is near chance (5/30)
    assert report["test_hr@5"] > popularity + 0.25, (report, popularity)
    run = tmp_path / "run"
    for name in ("config.yaml", "dataset_summary.json", "metrics.jsonl", "learning_curve.png",
                 "run_summary.json", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run / name).exists(), name
    err = capsys.readouterr().err
    assert "users 300  items 30" in err


def test_resume_is_bit_for_bit(tmp_path, chain):
    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file, "cl4srec")
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", str(cfg), "-o", str(full), "--set", "train.epochs=3"]) == 0
    assert main(["train", str(cfg), "-o", str(part), "--set", "train.epochs=2"]) == 0
    assert main(["train", str(cfg), "-o", str(part), "--set", "train.epochs=3", "--resume"]) == 0

    def strip(path):
        rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if "seconds" not in k and "per_s" not in k} for r in rows]

    assert strip(full) == strip(part)
    assert json.loads((full / "report.json").read_text()) == json.loads((part / "report.json").read_text())


def test_concord_dispatches_to_the_plugin(tmp_path, chain):
    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file)
    assert concord_main(["sequence", "train", str(cfg), "-o", str(tmp_path / "r"), "--set", "train.epochs=0"]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["best_epoch"] == -1


@pytest.mark.parametrize(
    "content, overrides, message",
    [
        ("", [], "is empty"),
        ("1 4 5 x 7\n", [], "'x' is not an integer id"),
        ("1 1 2 3 4\n2 5 6\n", [], "fewer than 3 items"),
        (None, ["method.augmentations=[{name: sequence.shuffle}]", "method.name=cl4srec"],
         "no augmentation named 'sequence.shuffle'"),
        (None, ["data.max_len=0"], "max_len must be >= 1"),
        (None, ["train.epochs=two"], "expected an integer"),
        (None, ["method.lamda=0.1"], "unknown config key"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, chain, capsys, content, overrides, message):
    chain_file, _ = chain
    if content is not None:
        chain_file = tmp_path / "bad.txt"
        chain_file.write_text(content)
    cfg = _config(tmp_path, chain_file)
    args = ["train", str(cfg), "-o", str(tmp_path / "bad_run")]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1], err[-1]


def test_short_users_can_be_dropped_and_are_reported(tmp_path, chain):
    chain_file, _ = chain
    f = tmp_path / "with_short.txt"
    f.write_text(chain_file.read_text() + "9999 1 2\n")
    cfg = _config(tmp_path, f)
    out = tmp_path / "drop"
    assert main(["train", str(cfg), "-o", str(out), "--set", "data.short_users=drop", "--set", "train.epochs=0"]) == 0
    summary = json.loads((out / "dataset_summary.json").read_text())
    assert summary["dropped_short_users"] == 1 and summary["users"] == 300


def test_sampled_metrics_negatives_saved_beside_the_run_and_reused(tmp_path, chain):
    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file)
    out = tmp_path / "sampled"
    args = ["train", str(cfg), "-o", str(out), "--set", "eval.sampled_negatives=5"]
    assert main([*args, "--set", "train.epochs=1"]) == 0
    saved = (out / "sampled_negatives.npy").read_bytes()
    negatives = np.load(out / "sampled_negatives.npy")
    assert negatives.shape == (300, 5)
    assert main([*args, "--set", "train.epochs=2", "--resume"]) == 0
    assert (out / "sampled_negatives.npy").read_bytes() == saved
    report = json.loads((out / "report.json").read_text())
    assert report["test_hr@10"] == 1.0  # 6 candidates: every rank is <= 6
    assert report["test_mrr"] > 0.5  # the chain is learnt: far above chance (mean 1/rank ~ 0.41)


def test_cli_under_torchrun_two_processes(tmp_path, chain):
    """``torchrun --nproc-per-node 2 concord sequence train`` (DDP, gloo) end to end: one run
    folder, written by rank 0, with the documented report."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file, method="cl4srec")
    concord = str(Path(sys.executable).parent / "concord")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           concord, "sequence", "train", str(cfg), "-o", str(tmp_path / "run"), "--set", "train.epochs=2"]
    env = dict(os.environ, CONCORD_PROGRESS="0", OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert set(report) == set(REPORT_KEYS)
    assert report["best_epoch"] in (0, 1)
    assert json.loads((tmp_path / "run" / "run_summary.json").read_text())["world_size"] == 2
