"""Typed, strict run configurations: YAML files and ``--set key=value`` overrides onto dataclasses.

A plugin describes its configuration as nested dataclasses (typed fields with defaults, range
checks in ``__post_init__``). :func:`load_config` reads a YAML file, applies overrides, and
builds the dataclasses, refusing anything it does not know:

* an unknown key raises :class:`~concord.registry.ConfigError` naming the valid keys at that
  level (with a close-match suggestion);
* a value of the wrong type raises, naming the dotted key, the expected and the given type;
* a ``__post_init__`` ``ValueError`` is re-raised with the dotted key prefixed.

Fields typed ``dict[str, Any]`` accept any keys. A field declared with
:func:`concord.run.components.component_field` names a registered component
(``{"name": ..., **options}``) and is checked against the registry and the component's
constructor at load time, like every other key.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from concord.errors import ConfigError
from concord.run.components import COMPONENT_KEY

__all__ = [
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "dump_yaml",
    "load_config",
    "parse_value",
    "read_yaml",
]

T = TypeVar("T")


def _yaml():
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading run configurations needs PyYAML: pip install 'concord-core[run]'"
        ) from exc
    return yaml


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (an empty file is an empty mapping)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    yaml = _yaml()
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}")
    return data


def dump_yaml(data: Mapping[str, Any], path: str | Path) -> None:
    from concord.run.files import atomic_write_text

    text = _yaml().safe_dump(dict(data), sort_keys=False, default_flow_style=False)
    atomic_write_text(Path(path), text)


def parse_value(text: str) -> Any:
    """An override's value, read as YAML: ``0.1`` -> float, ``true`` -> bool, ``[1, 2]`` -> list."""
    yaml = _yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``"a.b.c=value"`` set (intermediate mappings made)."""
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"an override must look like key=value, got {item!r}")
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"cannot set {key!r}: {part!r} holds a value, not a section")
            node = child
        node[parts[-1]] = parse_value(raw)
    return out


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        for arg in get_args(tp):
            try:
                return _convert(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(f"{where}: must be one of {list(choices)}, got {value!r}")
        return value
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{where}: expected null, got {value!r}")
        return None
    if _is_dataclass_type(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a section (mapping), got {value!r}")
        return config_from_dict(tp, value, where=where)
    if origin in (list, Sequence, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        items = [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        args = get_args(tp)
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _convert(v, vt, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{where}: expected a path, got {value!r}")
        return str(value)
    raise ConfigError(f"{where}: unsupported field type {_type_name(tp)}")  # pragma: no cover


def config_from_dict(schema: type[T], data: Mapping[str, Any], *, where: str = "") -> T:
    """Build dataclass ``schema`` from ``data``, strictly (see the module docstring)."""
    if not _is_dataclass_type(schema):
        raise TypeError(f"{schema!r} is not a dataclass")
    hints = get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        section = f"section {where!r}" if where else "the top level"
        msgs = []
        for key in unknown:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            msgs.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"unknown config key(s) {', '.join(msgs)} in {section}; valid keys: {', '.join(fields)}"
        )
    kwargs = {}
    for name in fields:
        if name in data:
            dotted = f"{where}.{name}" if where else name
            kwargs[name] = _convert(data[name], hints[name], dotted)
            if COMPONENT_KEY in fields[name].metadata:
                kwargs[name] = _check_component(fields[name], kwargs[name], dotted)
    try:
        return schema(**kwargs)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}{exc}") from exc


def _check_component(f: dataclasses.Field, value: Any, where: str) -> Any:
    from concord.run.components import validate_component

    meta = f.metadata
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    opts = {"provided": meta.get("provided", ()), "fixed_by": meta.get("fixed_by")}
    if meta.get("many"):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list of components, got {value!r}")
        return [validate_component(meta[COMPONENT_KEY], v, where=f"{where}[{i}]", **opts)
                for i, v in enumerate(value)]
    default_name = default.get("name") if isinstance(default, Mapping) else None
    if isinstance(value, Mapping) and "name" not in value and isinstance(default, Mapping):
        value = {**default, **value}  # options of the default component, like any other section
    return validate_component(meta[COMPONENT_KEY], value, where=where, default_name=default_name, **opts)


def _component_paths(schema: type, prefix: str = "") -> list[str]:
    """Dotted paths of the single-component fields of ``schema`` (through its sections)."""
    from concord.run.components import component_fields

    hints = get_type_hints(schema)
    out = [prefix + name for name, f in component_fields(schema).items() if not f.metadata.get("many")]
    for f in dataclasses.fields(schema):
        if _is_dataclass_type(hints.get(f.name)):
            out += _component_paths(hints[f.name], f"{prefix}{f.name}.")
    return out


def _restart_renamed_components(schema: type, data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """``--set loss.name=other``: the old component's options do not carry over to ``other``."""
    import copy

    paths = set(_component_paths(schema))
    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key.endswith(".name") or key[: -len(".name")] not in paths:
            continue
        *parents, leaf = key[: -len(".name")].split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        current = node.get(leaf)
        if isinstance(current, dict) and current.get("name") != parse_value(raw):
            node[leaf] = {"name": parse_value(raw)}
    return out


def config_to_dict(cfg: Any) -> Any:
    """Plain data (dicts, lists, scalars) from a config dataclass, for YAML / JSON."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        return {f.name: config_to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [config_to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {str(k): config_to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, Path):
        return str(cfg)
    return cfg


def load_config(
    schema: type[T], path: str | Path | None = None, overrides: Sequence[str] = ()
) -> T:
    """Read ``path`` (YAML; ``None``: defaults only), apply ``overrides``, build ``schema``.

    Each override sets one key of the file's data, and the result is built on the defaults: a
    section given in the file or by ``--set`` replaces only the keys it names, so
    ``--set loss.temperature=0.5`` keeps the loss's name and other options, and
    ``--set method.name=duorec`` lets fields that follow the method (a plugin's default loss,
    say) follow it too. ``--set loss.name=other`` starts ``other`` with its own defaults (see
    :mod:`concord.run.components`). A plain ``dict`` field given in the file is taken whole.
    """
    data = read_yaml(path) if path is not None else {}
    data = _restart_renamed_components(schema, data, overrides)
    data = _seed_dict_fields(schema, data, overrides)
    return config_from_dict(schema, apply_overrides(data, overrides))


def _seed_dict_fields(schema: type, data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """An override inside a plain ``dict`` field the file does not give (``--set
    data.generated.num_nodes=50``) changes that key of the field's default, not the whole dict.
    (Component fields merge with their default component instead: see ``_check_component``.)"""
    import copy

    out = copy.deepcopy(data)
    for item in overrides:
        path = item.partition("=")[0].strip().split(".")
        if len(path) < 2:
            continue
        tp: Any = schema
        node: Any = out
        for part in path[:-2]:  # walk the dataclass sections down to the field's parent
            hint = get_type_hints(tp).get(part) if _is_dataclass_type(tp) else None
            if not _is_dataclass_type(hint) or not isinstance(node.get(part, {}), dict):
                node = None
                break
            node, tp = node.setdefault(part, {}), hint
        if node is None or not _is_dataclass_type(tp):
            continue
        name = path[-2]
        f = {f.name: f for f in dataclasses.fields(tp)}.get(name)
        hint = get_type_hints(tp).get(name)
        is_dict = get_origin(hint) in (dict, Mapping) or hint is dict
        if (f is None or not is_dict or name in node or COMPONENT_KEY in f.metadata
                or f.default_factory is dataclasses.MISSING):
            continue
        default = f.default_factory()
        if isinstance(default, dict):
            node[name] = copy.deepcopy(default)
    return out
