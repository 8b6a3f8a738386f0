"""Every ``type=`` in a config must name a registered module; say which are close if not."""

from __future__ import annotations

import difflib
from typing import Any

from concord.errors import ConfigError

__all__ = ["check_module_types", "registered_types"]


def registered_types() -> set[str]:
    """Names in every mmseg registry and its mmengine / mmcv parents (after registration)."""
    import mmseg.registry as registries
    from mmengine.registry import Registry

    names: set[str] = set()
    for value in vars(registries).values():
        reg = value
        if isinstance(reg, Registry):
            reg.import_from_location()  # mmseg registers some modules lazily (visualizers)
        while isinstance(reg, Registry):
            names |= set(reg.module_dict)
            reg = reg.parent
    return names


def _paths(node: Any, path: str):
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            yield path or "the config", node["type"]
        for k, v in node.items():
            yield from _paths(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _paths(v, f"{path}.{i}")


def check_module_types(cfg: Any) -> None:
    """Raise :class:`~concord.registry.ConfigError` for the first ``type`` no registry knows,
    listing the closest registered names (mmengine would only say it "is not in the registry")."""
    known = registered_types()
    tree = cfg.to_dict() if hasattr(cfg, "to_dict") else cfg
    for path, name in _paths(tree, ""):
        bare = name.split(".", 1)[1] if "." in name else name  # 'mmseg.X' / 'mmengine.X'
        if bare not in known:
            close = difflib.get_close_matches(bare, sorted(known), n=5, cutoff=0.5)
            hint = f"; close matches: {', '.join(close)}" if close else ""
            raise ConfigError(f"{path}: type {name!r} is not a registered module{hint}")
