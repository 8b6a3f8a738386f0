"""Two CPU processes (gloo, launched by torchrun; accelerate wraps the model in DDP): every process
ends with identical weights, equal to one process training on the same global batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from concord.run import load_checkpoint

pytestmark = pytest.mark.distributed


def test_two_processes_equal_one_process_on_the_global_batch(tiny_run, tmp_path):
    """Catches: a loss not averaged like the global batch (DDP's mean of per-process means is the
    global mean only with equal local batches, which the trainer enforces), processes that draw
    the same rows or the same noise, and replicas drifting apart. Dropout is off: its masks are
    drawn per process and could not match one process's."""
    cfg, _ = tiny_run
    sets = ["train.steps=3", "train.checkpoint_every=1", "model.dropout=0.0", "train.batch_size=8"]
    args = [x for s in sets for x in ("--set", s)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "CONCORD_PROGRESS": "0"}
    two, one = tmp_path / "two", tmp_path / "one"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "concord_diffusion.cli", "train", str(cfg), "-o", str(two), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((two / "report.json").read_text())
    assert report["world_size"] == 2 and report["replicas_identical"] is True
    from concord_diffusion.cli import main

    assert main(["train", str(cfg), "-o", str(one), *args]) == 0
    a = load_checkpoint(two / "checkpoints" / "last.pt")
    b = load_checkpoint(one / "checkpoints" / "last.pt")
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-5, atol=1e-6, msg=k)
    # not vacuous: the weights moved (the EMA copy, started at the initial weights, lags behind them)
    assert max(float((a["model"][k] - a["ema"][k]).abs().max()) for k in a["model"]) > 1e-5
    rows_two = [json.loads(x)["loss"] for x in (two / "metrics.jsonl").read_text().splitlines()]
    rows_one = [json.loads(x)["loss"] for x in (one / "metrics.jsonl").read_text().splitlines()]
    assert rows_two == pytest.approx(rows_one, rel=1e-5)
