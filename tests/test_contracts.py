"""Every installed loss, sampler and augmentation -- the core's and every plugin's -- passes the
shipped contract suite (concord.testing), without any per-component test code."""

from __future__ import annotations

import pytest

from concord.registry import Registry
from concord.testing import checks_for

GROUPS = ("losses", "samplers", "augmentations")


def _cases() -> list:
    reg = Registry()
    cases = []
    for group in GROUPS:
        for info in reg.components(group):
            if info.status != "ok":
                continue  # reported by test_every_component_loads
            try:
                cls = reg.load(group, info.name)
            except ImportError:
                continue  # reported by test_every_component_loads; never hides the others
            for check in checks_for(group):
                cases.append(pytest.param(cls, check, id=f"{group}:{info.name}:{check.__name__}"))
    return cases


@pytest.mark.parametrize("cls, check", _cases())
def test_contract(cls, check):
    why = check(cls)
    if why is not None:  # the check does not apply to this component: shown as skipped, with why
        pytest.skip(why)


def test_every_component_loads():
    reg = Registry()
    problems = []
    for info in reg.components():
        if info.status != "ok":
            problems.append(f"{info.group}/{info.name}: {info.status} ({info.problem})")
            continue
        try:
            reg.load(info.group, info.name)
        except Exception as exc:  # collect every failure, not just the first
            problems.append(f"{info.group}/{info.name}: {type(exc).__name__}: {exc}")
    assert not problems, "\n".join(problems)


def test_core_components_are_registered():
    names = {(c.group, c.name) for c in Registry().components()}
    for loss in ("nt_xent", "info_nce", "sup_con", "dcl", "dclw", "pseudo_huber", "cauchy", "l2",
                 "kl_consistency"):
        assert ("losses", loss) in names
    for sampler in ("views", "labels", "label_distance", "hard_negatives"):
        assert ("samplers", sampler) in names


def test_plugin_names_are_prefixed_with_their_domain():
    """Plugin names carry their domain prefix; the core's (concord-core) are bare."""
    for info in Registry().components():
        if info.distribution == "concord-core":
            assert "." not in info.name, f"core component {info.name} carries a prefix"
            continue
        if info.distribution and info.distribution.startswith("concord-") and info.group != "commands":
            domain = info.distribution.removeprefix("concord-")
            assert info.name.startswith(f"{domain}."), f"{info.name} from {info.distribution}"
