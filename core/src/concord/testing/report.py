"""Running a contract suite: which checks ran, and which did not apply to the component and why.

A check is a function of the component class. It raises ``AssertionError`` (or the component's
own error) when the contract is broken, returns ``None`` when it ran and passed, and returns a
string -- the reason -- when it does not apply (e.g. the half-precision check on a loss that
declares no half precision), so a suite never reports as checked what it did not check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Check", "SuiteReport", "run_checks"]

Check = Callable[[type], "str | None"]


@dataclass
class SuiteReport:
    """The outcome of a suite that passed: ``ran`` (check names) and ``not_applicable``
    (check name -> why)."""

    component: str
    ran: list[str] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.component}: {len(self.ran)} check(s) passed"]
        lines += [f"  passed          {name}" for name in self.ran]
        lines += [f"  not applicable  {name}: {why}" for name, why in self.not_applicable.items()]
        return "\n".join(lines)


def run_checks(cls: type, checks: Sequence[Check]) -> SuiteReport:
    """Run ``checks`` on ``cls`` in order; the first broken contract raises."""
    report = SuiteReport(cls.__name__)
    for check in checks:
        why = check(cls)
        if why is None:
            report.ran.append(check.__name__)
        else:
            report.not_applicable[check.__name__] = why
    return report
