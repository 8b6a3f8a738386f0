"""``--set key=value`` on an mmengine config: strict keys, plus the run-convention aliases."""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from typing import Any

from mmengine.config import Config, ConfigDict

from concord.errors import ConfigError
from concord.run.config import parse_value

__all__ = ["ALIASES", "apply_overrides", "parse_override"]

#: Keys every concord CLI accepts (``--set data.root=PATH``, ``--set seed=N``,
#: ``--set train.steps=N``), mapped onto the mmengine config: the data root of every dataset
#: (``PATH/<data_name>``, see :func:`_set_data_root`),
#: the seed of the Runner and of every ``ConcordTwoViews`` transform, and the iteration budget
#: with the schedules stretched to it (see :func:`_set_budget`), and ``train.device`` (``auto``,
#: ``cpu``, ``cuda``, ``cuda:N``; kept as the config's top-level ``device``, checked by
#: :func:`concord.devices.resolve_device`), and ``train.threads`` (torch's CPU threads, kept as
#: ``threads``; ``null``: torch's default). ``max_iters`` and ``data_root`` are accepted as the
#: same keys under their config names.
ALIASES = {"data.root": "data_root", "data_root": "data_root", "seed": "seed",
           "train.steps": "max_iters", "max_iters": "max_iters", "train.device": "device",
           "train.threads": "threads"}


def parse_override(item: str) -> tuple[str, Any]:
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"an override must look like key=value, got {item!r}")
    value = None if raw.strip() in ("None", "null", "~") else parse_value(raw)
    return key, value


def _walk(node: Any, visit) -> None:
    if isinstance(node, dict):
        visit(node)
        for v in node.values():
            _walk(v, visit)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _walk(v, visit)


def _set_data_root(cfg: Config, root: str) -> None:
    """``data.root`` is the folder that holds the data sets (``../shared/data``,
    ``$CONCORD_DATA``); the config's ``data_name`` (``camvid``) is the set's folder in it."""
    root = os.path.join(root, str(cfg.get("data_name") or ""))

    def visit(d: dict) -> None:
        if "data_root" in d:
            d["data_root"] = root
    cfg["data_root"] = root
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if cfg.get(key) is not None:
            _walk(cfg[key], visit)


def _set_seed(cfg: Config, seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed must be an integer, got {seed!r}")
    cfg["seed"] = seed
    cfg["randomness"] = ConfigDict({**(cfg.get("randomness") or {}), "seed": seed})

    def visit(d: dict) -> None:
        if str(d.get("type", "")).startswith("Concord") and "seed" in d:
            d["seed"] = seed
    if cfg.get("train_dataloader") is not None:
        _walk(cfg["train_dataloader"], visit)


def _set_budget(cfg: Config, iters: int) -> None:
    """New iteration budget; the whole schedule is stretched with it: every parameter
    scheduler's ``begin`` / ``end`` and DenseCL's warm-up ``start_iters`` are rescaled by
    ``iters / old`` (so a 5% warm-up stays 5%)."""
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ConfigError(f"the iteration budget must be an integer >= 1, got {iters!r}")
    train_cfg = cfg.get("train_cfg")
    if not train_cfg or "max_iters" not in train_cfg:
        raise ConfigError("this config has no train_cfg.max_iters (an iteration-based loop) to set")
    old = int(train_cfg["max_iters"])
    scale = lambda v: round(v * iters / old)  # noqa: E731
    train_cfg["max_iters"] = iters
    cfg["max_iters"] = iters
    schedulers = cfg.get("param_scheduler") or []
    for s in schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]:
        begin = scale(s.get("begin", 0))
        s["begin"] = begin
        if "end" in s:
            s["end"] = max(begin + 1, scale(s["end"]))
    for hook in cfg.get("custom_hooks") or []:
        if "start_iters" in hook:
            hook["start_iters"] = scale(hook["start_iters"])


def _like(old: Any, value: Any) -> Any:
    """The override in the container type the config used: a YAML list where the config held a
    tuple becomes a tuple (mmseg checks ``crop_size`` / ``strides`` for tuples), a dict a
    ``ConfigDict``."""
    if isinstance(old, tuple) and isinstance(value, list):
        return tuple(value)
    return ConfigDict(value) if isinstance(value, dict) else value


def _set_path(cfg: Config, key: str, value: Any) -> None:
    node: Any = cfg._cfg_dict  # the ConfigDict behind the Config
    parts = key.split(".")
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the config"
        last = depth == len(parts) - 1
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"unknown config key {key!r}: {where} is a list of {len(node)}; "
                                  f"index it with 0..{len(node) - 1}")
            if last:
                node[int(part)] = _like(node[int(part)], value)
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"unknown config key {key!r}: {where} holds a value "
                              f"({type(node).__name__}), not a section")
        if part not in node:
            valid = sorted(str(k) for k in node)
            close = difflib.get_close_matches(part, valid, n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise ConfigError(f"unknown config key {key!r}: {where} has no {part!r}{hint}; "
                              f"valid keys there: {', '.join(valid)}")
        if last:
            node[part] = _like(node[part], value)
        node = node[part]


def apply_overrides(cfg: Config, overrides: Sequence[str]) -> Config:
    """Apply ``key=value`` overrides in place (and return ``cfg``). A key must exist in the
    config (an unknown key is a :class:`~concord.registry.ConfigError` listing the valid keys at
    that level), except the aliases in :data:`ALIASES`."""
    for item in overrides:
        key, value = parse_override(item)
        alias = ALIASES.get(key)
        if alias == "data_root":
            _set_data_root(cfg, str(value))
        elif alias == "seed":
            _set_seed(cfg, value)
        elif alias == "max_iters":
            _set_budget(cfg, value)
        elif alias == "device":
            from concord.devices import check_device

            cfg["device"] = check_device("train.device", str(value))
        elif alias == "threads":
            from concord.run.threads import check_threads

            cfg["threads"] = check_threads("train.threads", value)
        else:
            _set_path(cfg, key, value)
    return cfg
