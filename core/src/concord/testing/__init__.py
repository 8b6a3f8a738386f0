"""Shipped test support: the contract suite every component passes, a multi-process runner for
distributed tests, and the run-config convention check. Third-party plugins use it too::

    from concord.testing import check_loss
    check_loss(MyLoss)
"""

from concord.testing.checks import (
    assert_same,
    check_augmentation,
    check_loss,
    check_sampler,
    checks_for,
    differs,
    snapshot,
)
from concord.testing.distributed import run_distributed
from concord.testing.run_schema import check_run_schema

__all__ = [
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
