"""Every method of the core zoo (issue 9) is an entry point of concord-core that imports (what
`concord plugins --check` reports as ok)."""

from __future__ import annotations

import pytest

from concord.cli import main
from concord.registry import Registry

ZOO = {
    "losses": ["swav", "moco_hard_mixing", "isogclr", "conr", "tcm", "cacr", "groco", "decoupled_mixup",
               "multiple_negatives_ranking", "one_to_k", "supremix"],
    "samplers": ["subclass_balanced"],
    "augmentations": ["mixup", "cutmix", "whitening", "feature_transformation"],
}


@pytest.mark.parametrize("group, name", [(g, n) for g, names in ZOO.items() for n in names])
def test_zoo_component_is_registered_and_loads(group, name):
    reg = Registry()
    info = next(c for c in reg.components(group) if c.name == name)
    assert info.distribution == "concord-core" and info.status == "ok"
    cls = reg.load(group, name)
    assert cls.registry_name == name


def test_plugins_check_lists_the_zoo_ok(capsys):
    import json

    assert main(["plugins", "--json", "--check", "--group", "losses"]) == 0
    rows = {r["name"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    for name in ZOO["losses"]:
        assert rows[name] == "ok", name
