"""Every component of concord's own distributions -- the core's and every installed plugin's --
has a citation and an example in the catalogue (`concord docs`)."""

from __future__ import annotations

import pytest

from concord.catalogue import catalogue
from concord.registry import Registry


def _rows():
    return [r for r in catalogue(Registry()) if (r.distribution or "").startswith("concord-")]


@pytest.mark.parametrize("row", _rows(), ids=lambda r: f"{r.group}:{r.name}")
def test_component_has_citation_and_example(row):
    assert not row.problems, f"{row.group}/{row.name} ({row.distribution}): {'; '.join(row.problems)}"
