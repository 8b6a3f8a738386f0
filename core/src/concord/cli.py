"""The ``concord`` command: version, plugin listing, and dispatch to domain commands.

    concord --version
    concord plugins [--json] [--group GROUP] [--check]
    concord docs [--json] [--group GROUP] [--check]
    concord <domain> ...        e.g. concord graph train CONFIG, concord demo

``concord plugins`` reads package metadata only (no plugin framework is imported), so a row
whose declared requirements are installed shows ``unchecked``: it was not imported. ``--check``
imports every component and shows ``ok`` or ``broken`` with the error. ``concord docs`` is the
catalogue (:mod:`concord.catalogue`): each component's paper, signature and a usage example; it
imports every component to read them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from concord import DISTRIBUTION, __version__
from concord.registry import (
    GROUPS,
    ComponentInfo,
    PluginImportError,
    Registry,
    UnknownComponentError,
)

__all__ = ["main"]

# Domains the project publishes, so a missing one can be named precisely.
KNOWN_DOMAINS = {
    "graph": "concord-graph",
    "vision": "concord-vision",
    "diffusion": "concord-diffusion",
    "sequence": "concord-sequence",
}


def _table(rows: list[ComponentInfo]) -> str:
    header = ("GROUP", "NAME", "DISTRIBUTION", "VERSION", "STATUS")
    data = [
        (r.group, r.name, r.distribution or "-", r.version or "-",
         r.status + (f" ({r.problem})" if r.problem else ""))
        for r in rows
    ]
    widths = [max(len(h), *(len(d[i]) for d in data)) if data else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(d, widths)).rstrip() for d in data]
    return "\n".join(lines)


def _check_import(reg: Registry, rows: list[ComponentInfo]) -> list[ComponentInfo]:
    checked = []
    for r in rows:
        if r.status == "ok":
            try:
                reg.load(r.group, r.name)
            except Exception as exc:  # report, never hide the other rows
                r = ComponentInfo(r.group, r.name, r.distribution, r.version, r.target,
                                  "broken", f"{type(exc).__name__}: {exc}")
        checked.append(r)
    return checked


def _plugins(argv: Sequence[str], reg: Registry) -> int:
    parser = argparse.ArgumentParser(prog="concord plugins", description="List installed components.")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--group", choices=GROUPS, help="only this group")
    parser.add_argument("--check", action="store_true", help="import each component to verify it loads")
    args = parser.parse_args(argv)
    rows = reg.components(args.group)
    if args.check:
        rows = _check_import(reg, rows)
    else:  # metadata alone cannot say that a component imports: never claim "ok" unverified
        rows = [dataclasses.replace(r, status="unchecked") if r.status == "ok" else r for r in rows]
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        print(_table(rows))
    return 0 if all(r.status in ("ok", "unchecked") for r in rows) else 1


def _docs(argv: Sequence[str], reg: Registry) -> int:
    from concord.catalogue import catalogue, render_markdown

    parser = argparse.ArgumentParser(
        prog="concord docs",
        description="The catalogue: every installed component's paper, signature and an example.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--group", choices=[g for g in GROUPS if g != "commands"], help="only this group")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a component lacks a citation or an example")
    args = parser.parse_args(argv)
    rows = catalogue(reg, args.group)
    if args.json:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        print(render_markdown(rows), end="")
    incomplete = [r for r in rows if r.problems]
    if args.check and incomplete:
        for r in incomplete:
            print(f"incomplete: {r.group}/{r.name}: {'; '.join(r.problems)}", file=sys.stderr)
        return 1
    return 0


def _usage(reg: Registry) -> str:
    domains = ", ".join(reg.names("commands")) or "(none installed)"
    return (
        "usage: concord [--version] <command> [args]\n\n"
        "commands:\n"
        "  plugins     list installed losses, samplers, augmentations and commands\n"
        "  docs        the catalogue: each component's paper, signature and an example\n"
        f"  <domain>    a plugin's command; installed: {domains}\n"
    )


def main(argv: Sequence[str] | None = None, *, registry: Registry | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    reg = registry if registry is not None else Registry()
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage(reg))
        return 0 if argv else 2
    if argv[0] in ("--version", "-V"):
        print(f"concord {__version__} ({DISTRIBUTION})")
        return 0
    command, rest = argv[0], argv[1:]
    if command in ("plugins", "docs"):
        try:
            return (_plugins if command == "plugins" else _docs)(rest, reg)
        except BrokenPipeError:  # `concord plugins | head`
            sys.stderr.close()
            return 0
    try:
        target = reg.load("commands", command)
    except UnknownComponentError:
        dist = KNOWN_DOMAINS.get(command)
        if dist:
            print(f"error: 'concord {command}' needs the {dist} plugin: pip install {dist}", file=sys.stderr)
        else:
            print(f"error: unknown command {command!r}\n\n{_usage(reg)}", file=sys.stderr)
        return 2
    except PluginImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return int(target(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
