"""Shipped test support: the contract suites every component passes (one file per suite:
``loss_suite``, ``sampler_suite``, ``augmentation_suite``), a multi-process runner for
distributed tests, and the run-config convention check. Third-party plugins use it too::

    from concord.testing import check_loss
    print(check_loss(MyLoss))   # raises on a broken contract; lists the checks that ran
"""

from concord.testing.augmentation_suite import check_augmentation
from concord.testing.distributed import run_distributed
from concord.testing.loss_suite import check_loss
from concord.testing.report import SuiteReport
from concord.testing.run_schema import check_run_schema
from concord.testing.sampler_suite import check_sampler
from concord.testing.snapshots import assert_same, differs, snapshot
from concord.testing.suites import checks_for

__all__ = [
    "SuiteReport",
    "assert_same",
    "check_augmentation",
    "check_loss",
    "check_run_schema",
    "check_sampler",
    "checks_for",
    "differs",
    "run_distributed",
    "snapshot",
]
