"""A third party's loss, from its own installed distribution (tests/thirdparty, installed by
`scripts/install.sh --test`), reaches everything a built-in loss reaches: the registry listing,
the shipped contract suite, and the training CLI of every plugin that takes a contrastive loss."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

mylab = pytest.importorskip(
    "mylab_losses.triplet_nce",
    reason="the test fixture distribution tests/thirdparty is installed by `bash scripts/install.sh --test`",
)
TripletNCE = mylab.TripletNCE
NAME = "mylab.triplet_nce"


def test_concord_plugins_lists_it_from_its_own_distribution():
    out = subprocess.run([sys.executable, "-m", "concord.cli", "plugins", "--json", "--check", "--group", "losses"],
                         capture_output=True, text=True, check=False)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows[NAME]["distribution"] == "mylab-losses" and rows[NAME]["status"] == "ok"
    assert rows[NAME]["target"] == "mylab_losses.triplet_nce:TripletNCE"


def test_the_shipped_contract_suite_passes_on_it():
    """Through the public entry point a third party calls (tests/test_contracts.py runs the same
    checks one by one); the report says what was and was not checked."""
    from concord.testing import check_loss
    from concord.testing.loss_suite import LOSS_CHECKS

    report = check_loss(TripletNCE)
    assert report.not_applicable == {"loss_half_precision": "declares no half precision"}
    assert report.ran == [c.__name__ for c in LOSS_CHECKS if c.__name__ != "loss_half_precision"]


def _used(before: int) -> bool:
    return TripletNCE.calls > before


def test_graph_cli_trains_with_it(tmp_path, capsys):
    pytest.importorskip("torch_geometric")
    from concord_graph.cli import main

    cfg = {
        "seed": 0, "method": "grace",
        "data": {"name": "sbm", "generated": {"num_nodes": 80, "num_classes": 2, "num_edges": 240, "num_features": 6}},
        "encoder": {"out_channels": 8, "projection_channels": 8},
        "train": {"epochs": 2, "threads": 1, "device": "cpu"},
        "eval": {"protocol": "random_10_10_80", "splits": 1, "plot": "pca"},
    }
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(cfg))
    before = TripletNCE.calls
    out = tmp_path / "run"
    assert main(["train", str(path), "-o", str(out), "--set", f"loss.name={NAME}", "--set", "loss.margin=0.5"]) == 0
    assert _used(before)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["loss"] == {"name": NAME, "margin": 0.5}  # nt_xent's temperature did not carry over
    assert "test_acc_mean" in json.loads((out / "report.json").read_text())
    # its options are checked like every other key, listing the valid ones
    assert main(["train", str(path), "-o", str(tmp_path / "bad"), "--set", f"loss.name={NAME}",
                 "--set", "loss.margn=0.5"]) == 2
    err = capsys.readouterr().err
    assert "loss: mylab.triplet_nce: unknown option(s) 'margn' (did you mean 'margin'?)" in err
    assert "valid options: temperature, margin" in err


def test_graph_trainer_refuses_it_across_processes():
    """It has no gather option: under torchrun the contrast would silently stay per process."""
    pytest.importorskip("torch_geometric")
    from concord.errors import ConfigError
    from concord.run import load_config
    from concord_graph.config import NodeRunConfig
    from concord_graph.train.node_evaluation import build_node_model

    cfg = load_config(NodeRunConfig, None, [f"loss.name={NAME}"])
    build_node_model(cfg, 6, gather=False)
    with pytest.raises(ConfigError, match="needs a component that takes gather="):
        build_node_model(cfg, 6, gather=True)


def test_sequence_cli_trains_cl4srec_with_it(tmp_path):
    pytest.importorskip("concord_sequence")
    from concord_sequence.cli import main
    from concord_sequence.data.synthetic import markov_chain_log, write_user_lines

    log = markov_chain_log(n_users=60, n_items=15, min_len=6, max_len=10, p_next=0.8, seed=0)
    data = write_user_lines(tmp_path / "chain.txt", log)
    cfg = {
        "seed": 1, "data": {"root": str(tmp_path), "path": str(data), "max_len": 6},
        "model": {"hidden": 16, "layers": 1, "heads": 1, "inner": 32},
        "method": {"name": "cl4srec"},
        "train": {"epochs": 1, "batch_size": 32, "threads": 1, "device": "cpu"},
    }
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(cfg))
    before = TripletNCE.calls
    out = tmp_path / "run"
    assert main(["train", str(path), "-o", str(out), "--set", f"loss.name={NAME}"]) == 0
    assert _used(before)
    assert yaml.safe_load((out / "config.yaml").read_text())["loss"] == {"name": NAME}


def test_demo_trains_with_it(tmp_path):
    from concord.demo import main

    before = TripletNCE.calls
    assert main(["train", "-o", str(tmp_path / "d"), "--set", f"loss.name={NAME}", "--set", "train.epochs=1"]) == 0
    assert _used(before)


def test_fixture_is_outside_every_concord_distribution():
    """The fixture really is a separate distribution (not a module of concord's own)."""
    from importlib.metadata import distribution

    dist = distribution("mylab-losses")
    assert Path(mylab.__file__).resolve().is_relative_to(Path(__file__).resolve().parent / "thirdparty")
    assert any(ep.group == "concord.losses" and ep.name == NAME for ep in dist.entry_points)
