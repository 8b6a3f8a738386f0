"""The `concord` command."""

from __future__ import annotations

import json

from concord import __version__
from concord.cli import main
from concord.registry import Entry, Registry


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"concord {__version__} (concord-core)"


def test_plugins_table_and_json(capsys):
    assert main(["plugins"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split() == ["GROUP", "NAME", "DISTRIBUTION", "VERSION", "STATUS"]
    # without --check nothing was imported, so no row may claim "ok"
    assert any(line.split()[:2] == ["losses", "nt_xent"] and line.split()[-1] == "unchecked"
               for line in table.splitlines())
    assert not any(line.split()[-1] == "ok" for line in table.splitlines()[1:])
    assert main(["plugins", "--json", "--group", "samplers", "--check"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"views", "labels", "label_distance", "hard_negatives"}
    assert all(r["status"] == "ok" for r in rows)


def test_broken_plugin_is_shown_and_does_not_hide_others(capsys):
    reg = Registry([
        Entry("losses", "x.broken", "concord_no_such_module:Loss", "concord-x", "0.1"),
        Entry("losses", "nt_xent", "concord.losses.nt_xent:NTXent", "concord-core", "0.2.0"),
    ])
    assert main(["plugins", "--check"], registry=reg) == 1
    out = capsys.readouterr().out
    assert "x.broken" in out and "broken (PluginImportError" in out
    assert any(line.split()[:2] == ["losses", "nt_xent"] and line.endswith("ok") for line in out.splitlines())


def test_missing_domain_plugin_names_the_distribution(capsys):
    assert main(["vision", "train", "x.py"], registry=Registry([])) == 2
    assert "needs the concord-vision plugin: pip install concord-vision" in capsys.readouterr().err


def test_unknown_command(capsys):
    assert main(["nonsense"], registry=Registry([])) == 2
    assert "unknown command 'nonsense'" in capsys.readouterr().err


def test_domain_dispatch_passes_remaining_arguments(monkeypatch):
    import sys
    import types

    seen = []
    mod = types.ModuleType("concord_fake_domain")
    mod.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "concord_fake_domain", mod)
    reg = Registry([Entry("commands", "fake", "concord_fake_domain:main", "concord-fake", "0.1")])
    assert main(["fake", "train", "c.yaml", "--set", "a=1"], registry=reg) == 0
    assert seen == [["train", "c.yaml", "--set", "a=1"]]


def test_plugin_whose_framework_is_missing_says_what_to_install(capsys):
    reg = Registry([Entry("commands", "graph", "concord_graph_not_installed_here.cli:main",
                          "concord-graph", "0.1.0", requires=("torch-geometric>=2.5",))],
                   check_requirements=False)
    assert main(["graph", "train"], registry=reg) == 2
    assert "pip install concord-graph" in capsys.readouterr().err


def test_an_entry_point_that_cannot_import_is_unchecked_not_ok_without_check(capsys):
    reg = Registry([Entry("losses", "x.broken", "concord_no_such_module:Loss", "concord-x", "0.1")])
    assert main(["plugins"], registry=reg) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "unchecked"
    assert main(["plugins", "--check"], registry=reg) == 1
