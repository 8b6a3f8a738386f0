"""The registry with explicitly injected entry points (no global state)."""

from __future__ import annotations

import sys
import types

import pytest

from concord.registry import (
    ComponentConflictError,
    ConfigError,
    Entry,
    PluginImportError,
    Registry,
    UnknownComponentError,
)


@pytest.fixture
def fake_module(monkeypatch):
    mod = types.ModuleType("concord_fake_plugin")

    class Thing:
        def __init__(self, *, alpha: float = 1.0, beta: int = 2) -> None:
            self.alpha, self.beta = alpha, beta

    mod.Thing = Thing
    monkeypatch.setitem(sys.modules, "concord_fake_plugin", mod)
    return mod


def test_lists_without_importing(monkeypatch):
    reg = Registry([Entry("concord.losses", "x.a", "never_imported_module:A", "concord-x", "1.0")])
    rows = reg.components("losses")
    assert [(r.name, r.distribution, r.version, r.status) for r in rows] == [("x.a", "concord-x", "1.0", "ok")]
    assert "never_imported_module" not in sys.modules


def test_load_and_build(fake_module):
    reg = Registry([Entry("losses", "thing", "concord_fake_plugin:Thing", "fake", "0.1")])
    assert reg.load("losses", "thing") is fake_module.Thing
    obj = reg.build("losses", "thing", alpha=3.0)
    assert obj.alpha == 3.0 and obj.beta == 2


def test_unknown_option_lists_valid_ones(fake_module):
    reg = Registry([Entry("losses", "thing", "concord_fake_plugin:Thing", "fake", "0.1")])
    with pytest.raises(ConfigError, match=r"unknown option\(s\) 'alpah' \(did you mean 'alpha'\?\); valid options: alpha, beta"):
        reg.build("losses", "thing", alpah=1.0)


def test_unknown_name_lists_known_and_suggests():
    reg = Registry([Entry("losses", n, f"m:{n}", "d", "1") for n in ("nt_xent", "info_nce")])
    with pytest.raises(UnknownComponentError, match=r"no loss named 'nt_xnet' is installed \(did you mean 'nt_xent'\?\); known: info_nce, nt_xent"):
        reg.load("losses", "nt_xnet")


def test_conflict_names_both_distributions():
    reg = Registry([
        Entry("losses", "dup", "a:A", "dist-a", "1"),
        Entry("losses", "dup", "b:B", "dist-b", "2"),
        Entry("losses", "fine", "c:C", "dist-c", "1"),
    ])
    with pytest.raises(ComponentConflictError, match="declared by both dist-a and dist-b"):
        reg.load("losses", "dup")
    rows = {(r.name, r.distribution): r.status for r in reg.components("losses")}
    assert rows == {("dup", "dist-a"): "conflict", ("dup", "dist-b"): "conflict", ("fine", "dist-c"): "ok"}


def test_same_distribution_twice_is_not_a_conflict(fake_module):
    e = Entry("losses", "thing", "concord_fake_plugin:Thing", "fake", "0.1")
    assert Registry([e, e]).load("losses", "thing") is fake_module.Thing


def test_import_error_names_distribution_and_install_command():
    reg = Registry([
        Entry("losses", "graph.pot", "concord_missing_framework_mod:POT", "concord-graph", "0.1.0",
              requires=("torch-geometric>=2.5",))
    ], check_requirements=False)
    with pytest.raises(PluginImportError) as info:
        reg.load("losses", "graph.pot")
    msg = str(info.value)
    assert "concord-graph 0.1.0" in msg and "pip install concord-graph" in msg
    assert "torch-geometric>=2.5" in msg and "concord_missing_framework_mod" in msg


def test_missing_dependency_is_reported_from_metadata_and_does_not_hide_others():
    reg = Registry([
        Entry("losses", "graph.pot", "concord_graph.pot:POT", "concord-graph", "0.1.0",
              requires=("definitely-not-installed-pkg>=1", "torch>=2.3", "docs-extra ; extra == 'docs'")),
        Entry("losses", "ok", "m:Ok", "other", "1"),
    ])
    rows = {r.name: r for r in reg.components("losses")}
    assert rows["graph.pot"].status == "missing-dependency"
    assert rows["graph.pot"].problem == "not installed: definitely-not-installed-pkg>=1"
    assert rows["ok"].status == "ok"


def test_malformed_target_is_broken_not_fatal():
    reg = Registry([Entry("losses", "bad", "not a target", "d", "1"), Entry("losses", "good", "m:G", "d", "1")])
    rows = {r.name: r.status for r in reg.components("losses")}
    assert rows == {"bad": "broken", "good": "ok"}
    with pytest.raises(PluginImportError, match="malformed target"):
        reg.load("losses", "bad")


def test_missing_attribute():
    reg = Registry([Entry("losses", "x", "concord.registry:NoSuchThing", "concord", "0")])
    with pytest.raises(PluginImportError, match="has no attribute 'NoSuchThing'"):
        reg.load("losses", "x")


def test_unknown_group():
    with pytest.raises(ConfigError, match="unknown component group 'lossez'"):
        Registry([]).components("lossez")


def test_installed_metadata_includes_core():
    names = {(r.group, r.name) for r in Registry().components()}
    assert ("losses", "nt_xent") in names and ("commands", "demo") in names


def test_public_api_build():
    import concord

    loss = concord.build("losses", "nt_xent", temperature=0.1)
    assert loss.temperature == 0.1
    assert {c.name for c in concord.components("samplers")} >= {"views", "labels", "label_distance", "hard_negatives"}
