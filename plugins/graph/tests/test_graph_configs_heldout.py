"""The shipped node-classification configs on other Planetoid graphs: ``grace_citeseer.yaml`` and
``grace_pubmed.yaml`` on generated graphs of CiteSeer's and PubMed's feature width and class
count, and every node config with only ``data.name`` changed, on a generated graph of another
size and width (catches a Cora constant -- 1,433 features, 7 classes, 2,708 nodes -- anywhere
outside the config). Runs are cut to 2 epochs, one probe split and a PCA plot (t-SNE and three
splits cost most of such a run and hold no constant); nothing else is overridden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from concord.run.checkpoint import load_checkpoint
from concord_graph.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
NODE_CONFIGS = ["gca_cora.yaml", "grace_cora.yaml", "grace_pot_cora.yaml", "grace_citeseer.yaml", "grace_pubmed.yaml"]


def _train(config: str, root: Path, out: Path, *extra: str) -> dict:
    argv = ["train", str(CONFIGS / config), "--set", f"data.root={root}", "--set", "train.epochs=2",
            "--set", "eval.splits=1", "--set", "eval.plot=pca",
            *[a for item in extra for a in ("--set", item)], "--output", str(out)]
    assert main(argv) == 0
    return json.loads((out / "report.json").read_text())


@pytest.mark.parametrize("config, name, width, classes", [
    ("grace_citeseer.yaml", "CiteSeer", 3703, 6),
    ("grace_pubmed.yaml", "PubMed", 500, 3),
])
def test_grace_authors_settings_on_graphs_of_their_shape(tmp_path, make_planetoid, config, name, width, classes):
    root = make_planetoid(name, num_features=width, num_classes=classes)
    report = _train(config, root, tmp_path / "run")
    assert report["dataset"] == name and report["n_train"] == 60 and report["n_test"] == 540
    assert 0.0 <= report["test_acc_mean"] <= 1.0
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "model_0.pt")
    assert state["model"]["encoder.convs.0.lin.weight"].shape == (512, width)  # 2 x 256 hidden
    assert state["embeddings"].shape == (600, 256)


@pytest.mark.parametrize("config", NODE_CONFIGS)
def test_every_node_config_runs_on_another_planetoid_graph(tmp_path, make_planetoid, config):
    # another size (640 nodes), width (37) and class count (4) than Cora and than the config's own
    root = make_planetoid("CiteSeer", num_nodes=640, num_features=37, num_classes=4)
    report = _train(config, root, tmp_path / "run", "data.name=CiteSeer")
    assert report["dataset"] == "CiteSeer" and report["n_train"] == 64
    assert bool(torch.isfinite(torch.tensor(report["final_loss"])))
