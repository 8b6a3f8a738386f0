"""Entry-point registry: lists concord components from package metadata and loads them on demand.

Every component -- the core's own and every plugin's -- is declared as a Python entry point in
one of four groups::

    concord.losses         name -> class
    concord.samplers       name -> class
    concord.augmentations  name -> class
    concord.commands       domain -> callable ``main(argv) -> int`` behind ``concord <domain>``

Listing reads only package metadata: it never imports a component, so ``concord plugins`` does
not import PyTorch Geometric, mmseg or diffusers. Whether a distribution's declared requirements
are installed is checked from metadata too, so a plugin whose framework is missing shows up as
``missing-dependency`` before anything is imported.

There is no global mutable registry. :class:`Registry` is built from the installed metadata by
default, or from explicit :class:`Entry` objects (tests, embedding applications).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as metadata
import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from concord.errors import (
    ComponentConflictError,
    ConfigError,
    PluginImportError,
    UnknownComponentError,
)

__all__ = [
    "GROUPS",
    "ComponentConflictError",
    "ComponentInfo",
    "ConfigError",
    "Entry",
    "PluginImportError",
    "Registry",
    "UnknownComponentError",
    "build",
    "check_options",
    "components",
    "load",
]

GROUPS: tuple[str, ...] = ("losses", "samplers", "augmentations", "commands")
_PREFIX = "concord."
_SINGULAR = {"losses": "loss", "samplers": "sampler", "augmentations": "augmentation", "commands": "command"}

Status = Literal["ok", "unchecked", "broken", "missing-dependency", "conflict"]


@dataclass(frozen=True)
class Entry:
    """One declared component: what an entry point says, plus the distribution that declares it.

    Args:
        group: short group name (``"losses"``) or full (``"concord.losses"``).
        name: component name, e.g. ``"nt_xent"`` or ``"graph.pot"``.
        target: ``"module.path:attribute"``.
        distribution: distribution that declares it (``None`` when injected by hand).
        version: that distribution's version.
        requires: that distribution's requirement strings (``Requires-Dist``).
    """

    group: str
    name: str
    target: str
    distribution: str | None = None
    version: str | None = None
    requires: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "group", _short_group(self.group))


@dataclass(frozen=True)
class ComponentInfo:
    """A row of the listing: one component and whether it can be loaded, decided from metadata."""

    group: str
    name: str
    distribution: str | None
    version: str | None
    target: str
    status: Status
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "target": self.target,
            "status": self.status,
            "problem": self.problem,
        }


def _short_group(group: str) -> str:
    short = group[len(_PREFIX) :] if group.startswith(_PREFIX) else group
    if short not in GROUPS:
        raise ConfigError(
            f"unknown component group {group!r}; the groups are: {', '.join(GROUPS)}"
        )
    return short


_TARGET = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_distributions() -> set[str]:
    names = set()
    for dist in metadata.distributions():
        dist_name = dist.metadata.get("Name") if dist.metadata else None
        if dist_name:
            names.add(_canonical(dist_name))
    return names


def _missing_requirements(requires: Iterable[str], installed: set[str]) -> list[str]:
    """Requirement strings (without extras or environment markers) whose distribution is absent."""
    missing = []
    for req in requires:
        req_part, _, marker = req.partition(";")
        if "extra" in marker:
            continue  # optional extras are not needed to load the component
        if marker.strip():
            continue  # environment-specific; cannot be judged without `packaging`
        match = _REQ_NAME.match(req_part)
        if match and _canonical(match.group(1)) not in installed:
            missing.append(req_part.strip())
    return missing


def _entries_from_metadata() -> list[Entry]:
    entries: list[Entry] = []
    for group in GROUPS:
        for ep in metadata.entry_points(group=_PREFIX + group):
            dist = getattr(ep, "dist", None)
            entries.append(
                Entry(
                    group=group,
                    name=ep.name,
                    target=ep.value,
                    distribution=dist.metadata["Name"] if dist is not None else None,
                    version=dist.version if dist is not None else None,
                    requires=tuple(dist.requires or ()) if dist is not None else (),
                )
            )
    return entries


def _install_hint(entry: Entry) -> str:
    if entry.distribution is None:
        return "check that the module path is right and its dependencies are installed"
    needs = [r for r in entry.requires if "extra" not in r.partition(";")[2]]
    extra = f" (it requires {', '.join(needs)})" if needs else ""
    return f"install it with `pip install {entry.distribution}`{extra}"


class Registry:
    """Read-only view over declared components.

    Args:
        entries: explicit entries; by default, every ``concord.*`` entry point installed in the
            current environment (read once, when the registry is made).
        check_requirements: decide ``missing-dependency`` from distribution metadata.

    Example::

        >>> reg = Registry([Entry("losses", "mine", "my_pkg.losses:Mine", "my-pkg", "1.0")])
        >>> [c.name for c in reg.components("losses")]
        ['mine']
    """

    def __init__(
        self, entries: Iterable[Entry] | None = None, *, check_requirements: bool = True
    ) -> None:
        from_metadata = entries is None
        self._entries: tuple[Entry, ...] = tuple(
            _entries_from_metadata() if from_metadata else entries  # type: ignore[arg-type]
        )
        self._check_requirements = check_requirements
        self._installed: set[str] | None = None

    # -- listing ---------------------------------------------------------------------------
    def _by_name(self, group: str) -> dict[str, list[Entry]]:
        group = _short_group(group)
        out: dict[str, list[Entry]] = {}
        for entry in self._entries:
            if entry.group == group:
                # The same distribution seen twice (e.g. an editable and a regular install of
                # one project on sys.path) is one declaration, not a conflict.
                same = [e for e in out.get(entry.name, []) if e.distribution == entry.distribution]
                if not same:
                    out.setdefault(entry.name, []).append(entry)
        return out

    def names(self, group: str) -> list[str]:
        return sorted(self._by_name(group))

    def components(self, group: str | None = None) -> list[ComponentInfo]:
        """Every declared component of ``group`` (or of all groups), with its status.

        Nothing is imported. A conflict, a malformed target or a missing requirement is reported
        in the row's ``status`` and ``problem``; it never hides the other rows.
        """
        groups = GROUPS if group is None else (_short_group(group),)
        rows: list[ComponentInfo] = []
        for g in groups:
            for name, entries in sorted(self._by_name(g).items()):
                for entry in entries:
                    status, problem = self._status(entry, entries)
                    rows.append(
                        ComponentInfo(
                            group=g,
                            name=name,
                            distribution=entry.distribution,
                            version=entry.version,
                            target=entry.target,
                            status=status,
                            problem=problem,
                        )
                    )
        return rows

    def _status(self, entry: Entry, same_name: list[Entry]) -> tuple[Status, str | None]:
        if len(same_name) > 1:
            others = ", ".join(str(e.distribution) for e in same_name if e is not entry)
            return "conflict", f"{entry.name!r} is also declared by {others}"
        if not _TARGET.match(entry.target):
            return "broken", f"malformed entry point target {entry.target!r}"
        if self._check_requirements and entry.requires:
            if self._installed is None:
                self._installed = _installed_distributions()
            missing = _missing_requirements(entry.requires, self._installed)
            if missing:
                return "missing-dependency", f"not installed: {', '.join(missing)}"
        return "ok", None

    # -- loading ---------------------------------------------------------------------------
    def entry(self, group: str, name: str) -> Entry:
        by_name = self._by_name(group)
        if name not in by_name:
            known = sorted(by_name)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UnknownComponentError(
                f"no {_SINGULAR[_short_group(group)]} named {name!r} is installed{hint}; "
                f"known: {', '.join(known) or '(none)'}"
            )
        entries = by_name[name]
        if len(entries) > 1:
            names = " and ".join(str(e.distribution) for e in entries)
            raise ComponentConflictError(
                f"{_PREFIX}{_short_group(group)} {name!r} is declared by both {names}; "
                "uninstall one of them"
            )
        return entries[0]

    def load(self, group: str, name: str) -> Any:
        """Import and return the object an entry point names."""
        entry = self.entry(group, name)
        if not _TARGET.match(entry.target):
            raise PluginImportError(
                f"{_PREFIX}{entry.group} {name!r} from {entry.distribution} has a malformed "
                f"target {entry.target!r} (expected 'module.path:attribute')"
            )
        module_name, _, attr = entry.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError as exc:
            raise PluginImportError(
                f"{_PREFIX}{entry.group} {name!r} comes from {entry.distribution or 'an entry'}"
                f"{' ' + entry.version if entry.version else ''}, whose module {module_name!r} "
                f"failed to import: {exc}. {_install_hint(entry).capitalize()}."
            ) from exc
        for part in filter(None, attr.split(".")):
            try:
                obj = getattr(obj, part)
            except AttributeError as exc:
                raise PluginImportError(
                    f"{_PREFIX}{entry.group} {name!r}: module {module_name!r} has no attribute "
                    f"{attr!r} (entry point {entry.target!r} of {entry.distribution})"
                ) from exc
        return obj

    def build(self, group: str, name: str, /, **kwargs: Any) -> Any:
        """Load a component class and construct it from keyword arguments.

        Keys the constructor does not take raise :class:`ConfigError` listing the valid ones.
        """
        cls = self.load(group, name)
        check_options(cls, name, kwargs)
        return cls(**kwargs)


def check_options(cls: Any, name: str, options: dict[str, Any], *, where: str | None = None) -> None:
    """Raise :class:`ConfigError` if ``options`` holds a key that ``cls``'s constructor does not
    take, listing the valid ones (with a close match). ``where`` prefixes the message with the
    config key (``"loss"``)."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [
        p.name
        for p in params.values()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    unknown = [k for k in options if k not in valid]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, valid, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}{name}: unknown option(s) {', '.join(hints)}; valid options: "
            f"{', '.join(valid) or '(none)'}"
        )


def components(group: str | None = None) -> list[ComponentInfo]:
    """List installed components of ``group`` (``"losses"``, ``"samplers"``, ...) without importing."""
    return Registry().components(group)


def load(group: str, name: str) -> Any:
    """Import the installed component ``name`` of ``group`` and return it (usually a class)."""
    return Registry().load(group, name)


def build(group: str, name: str, /, **kwargs: Any) -> Any:
    """Construct an installed component: ``concord.build("losses", "nt_xent", temperature=0.1)``."""
    return Registry().build(group, name, **kwargs)
