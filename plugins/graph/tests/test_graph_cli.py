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
def test_node_contrast_run_and_exact_resume(tmp_path, monkeypatch, capsys, extra):
    cfg = _node_config(tmp_path, **extra)
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["train", str(cfg), "--output", str(whole)]) == 0
    report = json.loads((whole / "report.json").read_text())
    # 3 classes (chance 1/3) with homophily 0.85: an embedding that lost the node order or the
    # labels (a misaligned probe) sits near chance
    assert report["test_acc_mean"] > 0.6, report
    assert report["test_acc_mean"] == pytest.approx(sum(report["test_acc_per_repeat"]) / len(report["test_acc_per_repeat"]))
    assert (report["n_train"], report["n_val"], report["n_test"]) == (12, 12, 96)  # 10 / 10 / 80 of 120
    # piped output (not a terminal): one line per epoch, and the probe says what it does
    err = capsys.readouterr().err
    assert [f"epoch {e}/4:" in err for e in range(1, 5)] == [True] * 4, err
    assert "linear probe (random_10_10_80), repeat 1/1, split 2/2" in err
    # `evaluate` recomputes the probes from the saved weights: the report's values again
    assert main(["evaluate", str(whole)]) == 0
    evaluation = json.loads((whole / "evaluation.json").read_text())
    assert {"test_acc_mean", "test_acc_std", "test_acc_per_repeat", "n_test"} <= set(evaluation)
    assert evaluation == {k: report[k] for k in evaluation}
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
    # 3 classes whose authors and subjects carry the class: far above chance (1/3 F1, 0.5 AUC)
    assert report["macro_f1_mean"] > 0.6 and report["auc_mean"] > 0.8 and report["nmi"] > 0.2, report
    assert (whole / "embeddings_pca.png").exists() and (whole / "loss.png").exists()
    assert main(["evaluate", str(whole)]) == 0  # the probes of the saved model: the same values
    evaluation = json.loads((whole / "evaluation.json").read_text())
    assert {"macro_f1_mean", "micro_f1_mean", "auc_mean", "nmi", "ari"} <= set(evaluation)
    assert evaluation == {k: report[k] for k in evaluation}
    with monkeypatch.context() as m:
        _interrupt_after_epoch(m, 2)
        assert main(["train", str(cfg), "--output", str(part)]) == 130  # Ctrl-C: one line, exit 130
    assert main(["train", str(cfg), "--output", str(part), "--resume"]) == 0
    resumed = json.loads((part / "report.json").read_text())
    assert {k: v for k, v in resumed.items() if "seconds" not in k} == {k: v for k, v in report.items() if "seconds" not in k}
    assert _strip(RunDir(part, resume=True).metrics()) == _strip(RunDir(whole, resume=True).metrics())


def test_adameow_and_gca_run(tmp_path, heco_dir):
    assert main(["train", str(_meow_config(tmp_path, heco_dir, "adameow")), "--output", str(tmp_path / "a")]) == 0
    assert json.loads((tmp_path / "a" / "report.json").read_text())["auc_mean"] > 0.8
    gca = {"method": "gca", "augment": {
        "view1": [{"name": "graph.adaptive_drop_edges", "p": 0.3}, {"name": "graph.adaptive_mask_features", "p": 0.1}],
        "view2": [{"name": "graph.adaptive_drop_edges", "p": 0.4, "centrality": "pagerank"}]}}
    assert main(["train", str(_node_config(tmp_path, **gca)), "--output", str(tmp_path / "g")]) == 0
    assert json.loads((tmp_path / "g" / "report.json").read_text())["test_acc_mean"] > 0.6


def test_evaluate_one_checkpoint_and_refusals(tmp_path, capsys):
    """``evaluate RUN/checkpoints/model_<r>.pt`` probes that repeat alone (its split seeds, its
    value in the run's report); a folder without a run, or a checkpoint that is not a trained
    model, is one error line."""
    cfg = _node_config(tmp_path, train={"epochs": 2, "lr": 0.01, "threads": 1, "repeats": 2})
    run = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(run)]) == 0
    report = json.loads((run / "report.json").read_text())
    assert report["test_acc_per_repeat"][0] != report["test_acc_per_repeat"][1]
    out = tmp_path / "second.json"
    assert main(["evaluate", str(run / "checkpoints" / "model_1.pt"), "-o", str(out)]) == 0
    second = json.loads(out.read_text())
    assert second["test_acc_per_repeat"] == [report["test_acc_per_repeat"][1]] and second["repeats"] == 1
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "nothing_here")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["evaluate", str(run / "checkpoints" / "last.pt")]) == 2
    assert "not a trained model of a graph run" in capsys.readouterr().err


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "concord graph evaluate" in out and "``" not in out and ":math:" not in out


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


def test_shipped_configs_load_and_point_inside_the_working_directory(monkeypatch):
    """No shipped config names a folder outside the user's checkout: data.root is $CONCORD_DATA,
    else data/ under the working directory."""
    from concord.run import load_config
    from concord_graph.config import schema_for

    folder = Path(__file__).resolve().parents[1] / "configs"
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert names == ["gca_cora.yaml", "grace_citeseer.yaml", "grace_cora.yaml", "grace_pot_cora.yaml",
                     "grace_pubmed.yaml", "meow_acm.yaml"]
    for p in folder.glob("*.yaml"):
        assert "shared" not in p.read_text(), p
        monkeypatch.delenv("CONCORD_DATA", raising=False)
        cfg = load_config(schema_for(p, []), p)
        assert cfg.data.root == "data" and cfg.data.name in ("Cora", "CiteSeer", "PubMed", "acm")
        monkeypatch.setenv("CONCORD_DATA", "/srv/datasets")
        assert load_config(schema_for(p, []), p).data.root == "/srv/datasets"
        assert getattr(cfg.data, "download", False) is False  # nothing downloads by default


def test_cli_under_torchrun_two_processes(tmp_path):
    """``torchrun --nproc-per-node 2 $(which concord) graph train`` (mini-batch mode, gloo) end to end:
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


def test_grace_pot_cora_is_what_the_reproduction_measured():
    """``benchmarks/graph/reproduce_grace_pot.py`` trains ``grace_cora.yaml`` plus its
    ``pot_authors`` overrides (and a PCA plot); the shipped ``grace_pot_cora.yaml`` must be that
    same configuration, or the 5-seed gain in the README is not the shipped config's."""
    import dataclasses
    import importlib.util

    from concord.run import load_config
    from concord_graph.config import NodeRunConfig

    root = Path(__file__).resolve().parents[3]
    spec = importlib.util.spec_from_file_location("reproduce", root / "benchmarks/graph/reproduce_grace_pot.py")
    reproduce = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reproduce)
    folder = Path(__file__).resolve().parents[1] / "configs"
    shipped = dataclasses.asdict(load_config(NodeRunConfig, folder / "grace_pot_cora.yaml", ["eval.plot=pca"]))
    measured = dataclasses.asdict(load_config(NodeRunConfig, reproduce.CONFIG,
                                              ["eval.plot=pca", *reproduce.SETTINGS["grace"],
                                               *reproduce.CASES["pot_authors"]]))
    assert reproduce.CONFIG == folder / "grace_cora.yaml"
    assert shipped == measured
