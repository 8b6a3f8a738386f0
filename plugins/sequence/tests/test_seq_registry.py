"""Every ``sequence.*`` entry point loads and passes the core's contract suite (the repository's
tests/test_contracts.py does this for all plugins together; this file keeps the plugin's own
suite self-contained)."""

from __future__ import annotations

import pytest

from concord.registry import Registry
from concord.testing import checks_for

GROUPS = ("losses", "augmentations")


def _cases():
    reg = Registry()
    out = []
    for group in GROUPS:
        for info in reg.components(group):
            if info.name.startswith("sequence."):
                cls = reg.load(group, info.name)
                for check in checks_for(group):
                    out.append(pytest.param(cls, check, id=f"{info.name}:{check.__name__}"))
    return out


def test_all_components_are_registered():
    reg = Registry()
    names = {(c.group, c.name) for c in reg.components() if c.distribution == "concord-sequence"}
    for aug in ("crop", "mask", "reorder", "substitute", "insert"):
        assert ("augmentations", f"sequence.{aug}") in names
    for loss in ("cl4srec", "duorec", "mclrec", "margin_regularizer"):
        assert ("losses", f"sequence.{loss}") in names
    assert ("commands", "sequence") in names


@pytest.mark.parametrize("cls, check", _cases())
def test_contract(cls, check):
    check(cls)
