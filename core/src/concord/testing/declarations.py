"""What every component declares, checked the same way in each suite: a keyword-only
constructor that is its whole configuration (``config()`` names every parameter and rebuilds an
equal component), and small examples to run the other checks on (DESIGN.md, "Interfaces")."""

from __future__ import annotations

import inspect
import json
from typing import Any

from concord.contract import seeded

__all__ = ["config_round_trip", "declared_examples", "keyword_only", "round_trip"]

_NOT_KEYWORD_ONLY = {
    inspect.Parameter.POSITIONAL_ONLY: "positional-only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.VAR_POSITIONAL: "*args",
    inspect.Parameter.VAR_KEYWORD: "**kwargs",
}


def keyword_only(cls: type) -> None:
    """Check (every suite): every constructor parameter is keyword-only: ``config()`` is built from exactly those, so a
    positional parameter, ``*args`` or ``**kwargs`` would be dropped from the config silently
    and the component could not be rebuilt from it (or from a CLI's ``loss.*`` keys)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # without self
    bad = [f"{p.name} ({_NOT_KEYWORD_ONLY[p.kind]})" for p in params if p.kind in _NOT_KEYWORD_ONLY]
    assert not bad, (
        f"{cls.__name__}.__init__ must take keyword-only parameters (put them after `*`); "
        f"not keyword-only: {', '.join(bad)}"
    )


def config_round_trip(cls: type) -> None:
    """Check (every suite): for each example's constructor arguments, :func:`round_trip`."""
    for ex in declared_examples(cls):
        round_trip(cls(**ex.init))


def round_trip(obj: Any) -> None:
    """``config()`` is JSON, names every keyword-only constructor parameter, and
    ``type(obj)(**config)`` rebuilds a component with the same config; ``repr`` names the class."""
    cfg = obj.config()
    params = {p.name for p in type(obj)._config_parameters()}
    assert set(cfg) == params, (
        f"{type(obj).__name__}.config() has keys {sorted(cfg)}, the constructor {sorted(params)}"
    )
    rebuilt = type(obj)(**json.loads(json.dumps(cfg)))
    assert rebuilt.config() == cfg, f"config round trip changed {cfg} -> {rebuilt.config()}"
    assert type(obj).__name__ in repr(obj)


def declared_examples(cls: type) -> list[Any]:
    """``cls.examples(seeded(0))``, which must not be empty."""
    examples = cls.examples(seeded(0))
    assert examples, f"{cls.__name__} declares no examples"
    return examples
