"""The catalogue (`concord docs`): generated from the registry, every core component has a
citation and an example, and a component without them makes `--check` fail."""

from __future__ import annotations

import json
import sys
import types

import pytest
import torch

from concord.catalogue import catalogue, citation, render_markdown
from concord.cli import main
from concord.contract import LossExample
from concord.losses.base import Loss
from concord.registry import Entry, Registry


def _core_entries() -> list[Entry]:
    return [Entry(c.group, c.name, c.target, c.distribution, c.version)
            for c in Registry().components() if c.distribution == "concord-core"]


@pytest.mark.parametrize("row", catalogue(Registry(_core_entries())), ids=lambda r: f"{r.group}:{r.name}")
def test_every_core_component_is_catalogued_completely(row):
    """Each core component: a paper (or an explicit 'Not a published method'), a summary, its
    constructor and call signatures, and a usage example built from its first example."""
    assert not row.problems, row.problems
    assert row.summary and row.signature.startswith(f"{row.name}(")
    assert row.example.startswith(f'concord.build("{row.group}", "{row.name}"')


def test_catalogue_lists_exactly_the_registered_components():
    reg = Registry()
    listed = {(r.group, r.name) for r in catalogue(reg)}
    registered = {(c.group, c.name) for c in reg.components() if c.group != "commands"}
    assert listed == registered


class _Uncited(Loss):
    """A loss whose docstring names no paper."""

    def __init__(self, *, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return self.scale * x.sum()

    @classmethod
    def examples(cls, generator):
        return [LossExample(init={}, args=(torch.randn(3, 2, generator=generator),))]


class _NoExamples(_Uncited):
    """A loss (Smith et al. 2021, https://example.org/paper) that declares no example."""

    @classmethod
    def examples(cls, generator):
        return []


@pytest.fixture
def fake_components(monkeypatch):
    mod = types.ModuleType("concord_fake_catalogue")
    mod.Uncited, mod.NoExamples = _Uncited, _NoExamples
    monkeypatch.setitem(sys.modules, "concord_fake_catalogue", mod)
    return Registry([
        Entry("losses", "x.uncited", "concord_fake_catalogue:Uncited", "concord-x", "0.1"),
        Entry("losses", "x.no_examples", "concord_fake_catalogue:NoExamples", "concord-x", "0.1"),
        Entry("losses", "x.missing", "concord_no_such_module:Loss", "concord-x", "0.1"),
        Entry("losses", "nt_xent", "concord.losses.nt_xent:NTXent", "concord-core", "0.2.0"),
    ])


def test_check_fails_for_a_component_without_citation_or_example(fake_components, capsys):
    assert main(["docs", "--check"], registry=fake_components) == 1
    err = capsys.readouterr().err
    assert "losses/x.uncited: no paper link" in err
    assert "losses/x.no_examples: examples() declares no example" in err
    assert "losses/x.missing: does not import" in err
    assert "nt_xent" not in err
    rows = {r.name: r for r in catalogue(fake_components)}
    assert rows["x.no_examples"].paper == "https://example.org/paper"
    assert not rows["nt_xent"].problems


def test_docs_json_and_markdown(capsys):
    reg = Registry(_core_entries())
    assert main(["docs", "--json", "--group", "losses"], registry=reg) == 0
    rows = json.loads(capsys.readouterr().out)
    tcm = next(r for r in rows if r["name"] == "tcm")
    assert tcm["paper"] == "https://arxiv.org/abs/2307.04047"
    assert tcm["call"] == "forward(embeddings, labels)"
    assert "margin_positive=0.9" in tcm["signature"]
    assert tcm["example"] == 'concord.build("losses", "tcm")(<float32 (8, 4)>, <int64 (8,)>)'
    assert main(["docs", "--check"], registry=reg) == 0
    page = capsys.readouterr().out
    assert "### `swav` (concord-core)" in page and "- paper: https://arxiv.org/abs/2006.09882" in page
    assert "### `compose` (concord-core)" in page and "none (not a published method)" in page


def test_citation_is_inherited_from_the_documented_parent():
    from concord.losses.dcl import DCLW

    assert citation(DCLW) == "https://arxiv.org/abs/2110.06848"


def test_markdown_shows_problems():
    from concord.catalogue import CatalogueEntry

    row = CatalogueEntry("losses", "x", None, "m:X", None, "S.", "x()", "forward()", None, ("no docstring",))
    assert "- **problem**: no docstring" in render_markdown([row])
