"""Every ``sequence.*`` component is registered under its name (the contract suite runs over
every entry point once, in the repository's tests/test_contracts.py)."""

from __future__ import annotations

from concord.registry import Registry


def test_all_components_are_registered():
    reg = Registry()
    names = {(c.group, c.name) for c in reg.components() if c.distribution == "concord-sequence"}
    for aug in ("crop", "mask", "reorder", "substitute", "insert"):
        assert ("augmentations", f"sequence.{aug}") in names
    for loss in ("cl4srec", "duorec", "mclrec", "margin_regularizer"):
        assert ("losses", f"sequence.{loss}") in names
    assert ("commands", "sequence") in names
