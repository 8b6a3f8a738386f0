"""Config fields that name a registered component, and building them: how a user's own entry
point reaches every training CLI.

A component field holds ``{"name": <registered name>, **options}``; the options are the
component's keyword arguments. In YAML::

    loss:
      name: mylab.triplet_nce     # any installed concord.losses entry point
      temperature: 0.2

or on the command line ``--set loss.name=mylab.triplet_nce --set loss.temperature=0.2``. A
spec without ``name`` gives options of the default component (``loss: {temperature: 0.2}``).
Declare such a field in a plugin's config dataclass with :func:`component_field`; then
:func:`concord.run.load_config` checks it like every other key, at load time: the name must be
installed (unknown names list the known ones, with a close match), the options must be
parameters of the component's constructor (unknown options list the valid ones), and values
the trainer supplies itself (``gather`` under ``torchrun``, say) may not be set. Changing the
name with ``--set`` starts the component's options afresh (the old component's options would
not fit the new one): give the new one's options with further ``--set`` keys.

A trainer builds the component with :func:`build_component`.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Collection, Mapping
from typing import Any

from concord.errors import ConfigError
from concord.registry import Registry, check_options

__all__ = [
    "COMPONENT_KEY",
    "build_component",
    "component_field",
    "component_fields",
    "validate_component",
]

#: The dataclass-field metadata key that marks a component field (value: the group).
COMPONENT_KEY = "concord.component"


def component_field(
    group: str,
    default: Mapping[str, Any] | list[Mapping[str, Any]],
    *,
    many: bool = False,
    provided: Collection[str] = (),
    fixed_by: str | None = None,
) -> Any:
    """A dataclass field holding a component spec (``many=True``: a list of specs, applied in
    order, e.g. the augmentations of a view).

    Args:
        group: the registry group (``"losses"``, ``"samplers"``, ``"augmentations"``).
        default: the default spec(s), typically the method's paper setting.
        many: the field is a list of specs.
        provided: option names the trainer passes itself; a config that sets one is refused.
        fixed_by: when the method's math fixes the component, a sentence saying so: any other
            name is refused with it (e.g. ``"MCLRec's meta-update is derived for its own loss"``).
    """
    if many and not isinstance(default, list):
        raise TypeError("component_field(many=True) needs a list of specs as default")
    meta = {COMPONENT_KEY: group, "many": many, "provided": tuple(provided), "fixed_by": fixed_by}
    return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=meta)


def component_fields(schema: type) -> dict[str, dataclasses.Field]:
    """The component fields of one dataclass level, by name."""
    if not dataclasses.is_dataclass(schema):
        return {}
    return {f.name: f for f in dataclasses.fields(schema) if COMPONENT_KEY in f.metadata}


def _split(spec: Any, where: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping with a 'name' and the component's options, got {spec!r}")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: needs a 'name' (a registered component), got {dict(spec)!r}")
    return name, {str(k): v for k, v in spec.items() if k != "name"}


def validate_component(
    group: str,
    spec: Any,
    *,
    where: str,
    default_name: str | None = None,
    provided: Collection[str] = (),
    fixed_by: str | None = None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Check one spec against the registry and the component's constructor; returns it as a
    plain dict. Raises :class:`~concord.errors.ConfigError` naming the dotted key."""
    name, options = _split(spec, where)
    if fixed_by is not None and default_name is not None and name != default_name:
        raise ConfigError(f"{where}.name: {fixed_by}, so it takes no other {group[:-1]} than "
                          f"{default_name!r} (got {name!r})")
    reg = registry if registry is not None else Registry()
    try:
        cls = reg.load(group, name)
    except ConfigError as exc:
        raise ConfigError(f"{where}.name: {exc}") from None
    clash = sorted(set(options) & set(provided))
    if clash:
        raise ConfigError(
            f"{where}: {', '.join(repr(k) for k in clash)} is set by the trainer, not the config "
            f"(remove {', '.join(f'{where}.{k}' for k in clash)})"
        )
    check_options(cls, name, options, where=where)
    return {"name": name, **options}


def build_component(
    group: str,
    spec: Mapping[str, Any],
    *,
    where: str,
    provided: Mapping[str, Any] | None = None,
    required: Collection[str] = (),
    why: Mapping[str, str] | None = None,
    registry: Registry | None = None,
) -> Any:
    """Construct the component a (validated) spec names.

    Args:
        group: the registry group.
        spec: ``{"name": ..., **options}``.
        where: the dotted config key, for messages (``"loss"``, ``"augment.view1[0]"``).
        provided: keyword arguments the trainer supplies (``{"gather": True}``); each is passed
            only when the constructor takes it, so a third party's component without, say, a
            ``gather`` option still builds on one process.
        required: names in ``provided`` the component must accept (``("gather",)`` under
            ``torchrun``); a component without them is refused with ``why[name]``.
    """
    reg = registry if registry is not None else Registry()
    name, options = _split(spec, where)
    try:
        cls = reg.load(group, name)
    except ConfigError as exc:
        raise ConfigError(f"{where}.name: {exc}") from None
    check_options(cls, name, options, where=where)
    extra = {}
    for key, value in (provided or {}).items():
        if _accepts(cls, key):
            extra[key] = value
        elif key in required:
            reason = (why or {}).get(key, "the trainer needs it")
            raise ConfigError(f"{where}.name={name!r}: this run needs a component that takes "
                              f"{key}= ({reason}); {name!r} does not")
    return cls(**options, **extra)


def _accepts(cls: Any, key: str) -> bool:
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return key in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
