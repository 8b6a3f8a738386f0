"""Check that a plugin's run-config schema follows the shared conventions."""

from __future__ import annotations

import dataclasses
from typing import get_type_hints

__all__ = ["check_run_schema"]


def check_run_schema(schema: type) -> None:
    """``seed`` at the top, ``data.root``, ``train.epochs`` or ``train.steps``, and
    ``train.device``, with defaults for everything (so ``--set`` alone can point a run at data,
    cap its budget and choose its device)."""
    assert dataclasses.is_dataclass(schema), f"{schema!r} is not a dataclass"
    hints = get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    assert "seed" in fields and hints["seed"] is int, "a run config needs an integer 'seed'"
    for section, keys in (("data", ("root",)), ("train", ("epochs", "steps")), ("train", ("device",))):
        assert section in fields, f"a run config needs a {section!r} section"
        sub = hints[section]
        assert dataclasses.is_dataclass(sub), f"{section!r} must be a dataclass section"
        names = {f.name for f in dataclasses.fields(sub)}
        assert any(k in names for k in keys), f"{section!r} needs one of {keys}"
    for f in dataclasses.fields(schema):
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        assert has_default, f"config field {f.name!r} has no default"
    schema()  # the defaults alone must build a valid config
