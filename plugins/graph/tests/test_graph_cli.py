"""``concord graph train``: the four methods end to end on generated data, exact --resume, the
report keys the issue names, plots, and the run-config conventions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from concord.cli import main as concord_main
from concord.run.rundir import RunDir
from concord.testing import check_run_schema
from concord_graph.cli import main
from concord_graph.config import MeowRunConfig, NodeRunConfig

SBM = {"num_nodes": 120, "num_classes": 3, "num_edges": 420, "homophily": 0.85, "num_features": 10}


def _node_config(tmp_path: Path, **extra) -> Path:
    cfg = {
        "seed": 3,
        "method": "grace",
        "data": {"name": "sbm", "generated": SBM},
        "encoder": {"out_channels": 8, "projection_channels": 8, "num_layers": 2, "activation": "prelu"},
        "augment": {"view1": [{"name": "graph.drop_edges", "p": 0.2}, {"name": "graph.mask_features", "p": 0.2}],
                    "view2": [{"name": "graph.drop_edges", "p": 0.3}, {"name": "graph.mask_features", "p": 0.1}]},
        "loss": {"temperature": 0.5},
        "train": {"epochs": 4, "lr": 0.01, "threads": 1},
        "eval": {"protocol": "random_10_10_80", "splits": 2, "plot": "pca"},
        **extra,
    }
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _meow_config(tmp_path: Path, heco_dir: Path, method: str = "meow") -> Path:
    cfg = {
        "seed": 1,
        "method": method,
        "data": {"root": str(heco_dir.parent), "name": heco_dir.name},
        "meow": {"metapaths": [["paper", "author", "paper"], ["paper", "subject", "paper"]], "top_k": [10, 20],
                 "hidden_channels": 16, "out_channels": 16, "edge_mask": [0.2, 0.2], "clusters": [6, 9]},
        "train": {"epochs": 4, "lr": 0.005, "patience": 0, "threads": 1},
        "eval": {"labels_per_class": [5], "kmeans_runs": 2, "plot": "pca"},
    }
    path = tmp_path / f"{method}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _strip(rows):
    return [{k: v for k, v in r.items() if "seconds" not in k} for r in rows]


def _interrupt_after_epoch(monkeypatch, epoch: int) -> None:
    original = RunDir.save_progress

    def save(self, state, **kwargs):
        path = original(self, state, **kwargs)
        if state.get("epoch") == epoch and "model" in state:
            raise KeyboardInterrupt("simulated kill")
        return path

    monkeypatch.setattr(RunDir, "save_progress", save)


@pytest.mark.parametrize("extra", [
    {},
    {"pot": {"enabled": True, "kappa": 0.5}, "train": {"epochs": 4, "lr": 0.01, "batch_size": 48, "threads": 1}},
], ids=["grace-full-batch", "grace-pot-mini-batch"])
def test_node_contrast_run_and_exact_resume(tmp_path, monkeypatch, extra):
    cfg = _node_config(tmp_path, **extra)
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", str(cfg), "--output", str(whole)]) == 0
    report = json.loads((whole / "report.json").read_text())
    for key in ("test_acc_mean", "test_acc_std"):
        assert 0.0 <= report[key] <= 1.0
    assert (report["n_train"], report["n_val"], report["n_test"]) == (12, 12, 96)
    assert (whole / "loss.png").stat().st_size > 0 and (whole / "embeddings_pca.png").stat().st_size > 0
    assert (whole / "checkpoints" / "last.pt").exists()
    from concord.run import load_checkpoint

    saved = load_checkpoint(whole / "checkpoints" / "model_0.pt")
    assert saved["embeddings"].shape == (120, 8) and "encoder.convs.0.lin.weight" in saved["model"]

    with monkeypatch.context() as m:
        _interrupt_after_epoch(m, 1)
        assert main(["train", str(cfg), "--output", str(part)]) == 130  # Ctrl-C: one line, exit 130
    assert main(["train", str(cfg), "--output", str(part), "--resume"]) == 0
    resumed = json.loads((part / "report.json").read_text())
    drop = {"epoch_seconds_mean"}
    assert {k: v for k, v in resumed.items() if k not in drop} == {k: v for k, v in report.items() if k not in drop}
    assert _strip(RunDir(part, resume=True).metrics()) == _strip(RunDir(whole, resume=True).metrics())


def test_meow_run_report_keys_and_exact_resume(tmp_path, monkeypatch, heco_dir):
    cfg = _meow_config(tmp_path, heco_dir)
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert concord_main(["graph", "train", str(cfg), "--output", str(whole)]) == 0  # via `concord graph`
    report = json.loads((whole / "report.json").read_text())
    for key in ("macro_f1_mean", "micro_f1_mean", "auc_mean", "nmi", "ari"):
        assert key in report and report[key] == report[key]
    assert (whole / "embeddings_pca.png").exists() and (whole / "loss.png").exists()
    with monkeypatch.context() as m:
        _interrupt_after_epoch(m, 2)
        assert main(["train", str(cfg), "--output", str(part)]) == 130  # Ctrl-C: one line, exit 130
    assert main(["train", str(cfg), "--output", str(part), "--resume"]) == 0
    resumed = json.loads((part / "report.json").read_text())
    assert {k: v for k, v in resumed.items() if "seconds" not in k} == {k: v for k, v in report.items() if "seconds" not in k}
    assert _strip(RunDir(part, resume=True).metrics()) == _strip(RunDir(whole, resume=True).metrics())


def test_adameow_and_gca_run(tmp_path, heco_dir):
    assert main(["train", str(_meow_config(tmp_path, heco_dir, "adameow")), "--output", str(tmp_path / "a")]) == 0
    assert "auc_mean" in json.loads((tmp_path / "a" / "report.json").read_text())
    gca = {"method": "gca", "augment": {
        "view1": [{"name": "graph.adaptive_drop_edges", "p": 0.3}, {"name": "graph.adaptive_mask_features", "p": 0.1}],
        "view2": [{"name": "graph.adaptive_drop_edges", "p": 0.4, "centrality": "pagerank"}]}}
    assert main(["train", str(_node_config(tmp_path, **gca)), "--output", str(tmp_path / "g")]) == 0
    assert json.loads((tmp_path / "g" / "report.json").read_text())["method"] == "gca"


def test_run_schemas_follow_the_conventions():
    check_run_schema(NodeRunConfig)
    check_run_schema(MeowRunConfig)


def test_config_errors_are_one_line(tmp_path, capsys):
    cfg = _node_config(tmp_path)
    assert main(["train", str(cfg), "--set", "train.epoch=3", "--output", str(tmp_path / "x")]) == 2
    assert "did you mean 'epochs'" in capsys.readouterr().err
    pot = _node_config(tmp_path, augment={"view1": [], "view2": []}, pot={"enabled": True})
    assert main(["train", str(pot), "--output", str(tmp_path / "y")]) == 2
    assert "POT needs the edge-drop budget" in capsys.readouterr().err
    assert main(["train", str(cfg), "--set", "method=simclr", "--output", str(tmp_path / "z")]) == 2


def test_shipped_configs_load():
    from concord.run import load_config
    from concord_graph.config import schema_for

    folder = Path(__file__).resolve().parents[1] / "configs"
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert names == ["gca_cora.yaml", "grace_citeseer.yaml", "grace_cora.yaml", "grace_pot_cora.yaml",
                     "grace_pubmed.yaml", "meow_acm.yaml"]
    for p in folder.glob("*.yaml"):
        cfg = load_config(schema_for(p, []), p)
        assert cfg.data.root == "data"


def test_cli_under_torchrun_two_processes(tmp_path):
    """``torchrun --nproc-per-node 2 concord graph train`` (mini-batch mode, gloo) end to end:
    one run folder, written by rank 0, with the documented report."""
    import os
    import subprocess
    import sys

    cfg = _node_config(tmp_path, train={"epochs": 2, "lr": 0.01, "threads": 1, "batch_size": 40})
    concord = str(Path(sys.executable).parent / "concord")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           concord, "graph", "train", str(cfg), "-o", str(tmp_path / "run")]
    env = dict(os.environ, CONCORD_PROGRESS="0", OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert {"test_acc_mean", "test_acc_std"} <= set(report) and report["world_size"] == 2
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows if "loss" in r] == [0, 1]
