"""Which contract suite checks which entry-point group, for test files that parametrise over
``(component, check)`` pairs::

    @pytest.mark.parametrize("cls, check", cases)
    def test_contract(cls, check):
        why = check(cls)
        if why is not None:
            pytest.skip(why)
"""

from __future__ import annotations

from concord.testing.augmentation_suite import AUGMENTATION_CHECKS
from concord.testing.loss_suite import LOSS_CHECKS
from concord.testing.report import Check
from concord.testing.sampler_suite import SAMPLER_CHECKS

__all__ = ["checks_for"]


def checks_for(group: str) -> list[Check]:
    """The contract checks of a component group (``"losses"``, ``"samplers"``, ``"augmentations"``)."""
    group = group.removeprefix("concord.")
    table = {"losses": LOSS_CHECKS, "samplers": SAMPLER_CHECKS, "augmentations": AUGMENTATION_CHECKS}
    if group not in table:
        raise ValueError(f"no contract checks for group {group!r}; groups: {', '.join(table)}")
    return list(table[group])
