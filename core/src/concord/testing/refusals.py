"""Bad input must be refused with a ``ValueError`` whose message says what is wrong
(``concord.InputError`` / ``ConfigError`` are ``ValueError`` s): never a silent fix, never another
kind of error."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from concord.contract import BadInput

__all__ = ["check_refused", "expect_value_error"]


def expect_value_error(fn: Callable[[], Any], match: str, what: str) -> None:
    """``fn()`` raises a ``ValueError`` whose message matches the regular expression ``match``."""
    try:
        fn()
    except ValueError as exc:
        assert re.search(match, str(exc)), (
            f"{what}: ValueError message {str(exc)!r} does not match {match!r}"
        )
        return
    except Exception as exc:  # wrong type of error
        raise AssertionError(f"{what}: expected ValueError, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{what}: expected ValueError matching {match!r}, nothing was raised")


def check_refused(cls: type, bad: BadInput, call: Callable[[Any, BadInput], Any]) -> None:
    """The constructor refuses ``bad.init`` (``bad.args is None``), or ``call(obj, bad)`` refuses
    the input on a component built from ``bad.init``."""
    what = f"{cls.__name__}({bad.init}) {bad.why}".strip()
    if bad.args is None:
        expect_value_error(lambda: cls(**bad.init), bad.match, what)
    else:
        obj = cls(**bad.init)
        expect_value_error(lambda: call(obj, bad), bad.match, what)
