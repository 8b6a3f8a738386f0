"""Entry points, the run-config conventions, and the contract suite on the registered distance."""

from __future__ import annotations

import pytest

from concord.registry import Registry
from concord.testing import check_loss, check_run_schema
from concord_diffusion.losses import PerElementPseudoHuber
from concord_diffusion.train.config import DiffusionRunConfig


def test_entry_points_are_declared_under_the_diffusion_prefix():
    reg = Registry()
    names = {(c.group, c.name): c for c in reg.components() if c.distribution == "concord-diffusion"}
    assert ("losses", "diffusion.pseudo_huber_per_element") in names
    assert ("commands", "diffusion") in names
    assert reg.load("losses", "diffusion.pseudo_huber_per_element") is PerElementPseudoHuber


def test_contract_suite_and_config_schema():
    check_loss(PerElementPseudoHuber)
    check_run_schema(DiffusionRunConfig)


def test_concord_diffusion_dispatches(capsys):
    """``concord diffusion ...`` reaches this plugin's command (argparse exits 0 on --help)."""
    from concord.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["diffusion", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "sample" in out and "evaluate" in out


def test_data_root_follows_the_project_convention(monkeypatch, tmp_path):
    """``data.root`` defaults to ``$CONCORD_DATA/fashion-mnist``, else ``data/fashion-mnist``; the
    shipped config names no folder, so the environment variable reaches it."""
    import os
    from pathlib import Path

    from concord.run.config import load_config

    shipped = Path(__file__).resolve().parents[1] / "configs" / "ict_fashion_mnist.yaml"
    monkeypatch.delenv("CONCORD_DATA", raising=False)
    assert load_config(DiffusionRunConfig, shipped, []).data.root == os.path.join("data", "fashion-mnist")
    monkeypatch.setenv("CONCORD_DATA", str(tmp_path))
    assert load_config(DiffusionRunConfig, shipped, []).data.root == os.path.join(str(tmp_path), "fashion-mnist")
    assert load_config(DiffusionRunConfig, shipped, ["data.root=/x"]).data.root == "/x"
