"""The catalogue: every registered component with its paper, call signature and a usage example,
generated from the registry and the components themselves, so it cannot drift from the code.

``concord docs`` prints it (Markdown, or JSON with ``--json``); ``concord docs --check`` exits
non-zero when a component lacks a citation or an example. Unlike ``concord plugins`` it imports
every component (a docstring and ``examples()`` live in the code).

Where each field comes from:

``paper``
    the first ``http(s)`` link in the component's docstring, or in the docstring of the nearest
    ancestor that has one (a variant such as ``dclw`` cites its parent's paper); without a link,
    the first author-year citation (``Xie et al. 2022``) in the docstring. A component that
    implements no published method says so in its docstring with a line starting
    ``Not a published method:`` (e.g. ``compose``); it is listed without a paper.
``summary``
    the first sentence of the docstring.
``signature``
    the keyword-only constructor, and the call: ``forward`` (losses), ``bind`` (samplers),
    ``__call__(x, *, generator)`` (augmentations).
``example``
    built from the component's first declared example (``examples()``): the constructor
    arguments and the shapes and dtypes of the inputs.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import asdict, dataclass
from typing import Any

from concord.registry import Registry

__all__ = ["NO_PAPER", "CatalogueEntry", "catalogue", "citation", "render_markdown"]

NO_PAPER = "Not a published method:"
_LINK = re.compile(r"https?://[^\s<>`'\")\]]+")
_AUTHOR_YEAR = re.compile(r"\b[A-Z][A-Za-z'-]+(?:\s+et\s+al\.|\s+(?:&|and)\s+[A-Z][A-Za-z'-]+)?,?\s+(?:19|20)\d\d[a-z]?\b")
_GROUPS = ("losses", "samplers", "augmentations")
_CALL = {"losses": "forward", "samplers": "bind", "augmentations": "__call__"}


@dataclass(frozen=True)
class CatalogueEntry:
    """One row of the catalogue (``problems`` lists what is missing; empty when complete)."""

    group: str
    name: str
    distribution: str | None
    target: str
    paper: str | None
    summary: str
    signature: str
    call: str
    example: str | None
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def catalogue(registry: Registry | None = None, group: str | None = None) -> list[CatalogueEntry]:
    """Import every component of ``group`` (default: losses, samplers, augmentations) and describe
    it. A component that fails to import is listed with the error as its problem."""
    reg = registry if registry is not None else Registry()
    groups = _GROUPS if group is None else (group,)
    rows = []
    for g in groups:
        for info in reg.components(g):
            try:
                cls = reg.load(g, info.name)
            except Exception as exc:  # listed, never hides the others
                rows.append(CatalogueEntry(g, info.name, info.distribution, info.target, None, "",
                                           "", "", None, (f"does not import: {type(exc).__name__}: {exc}",)))
                continue
            rows.append(_describe(g, info.name, info.distribution, info.target, cls))
    return rows


def _describe(group: str, name: str, distribution: str | None, target: str, cls: Any) -> CatalogueEntry:
    problems = []
    doc = inspect.getdoc(cls) or ""
    paper = citation(cls)
    if paper is None and NO_PAPER not in doc:
        problems.append(f"no paper link in the docstring (nor a line '{NO_PAPER} ...')")
    summary = _first_sentence(doc)
    if not summary:
        problems.append("no docstring")
    example = None
    try:
        from concord.contract import seeded

        examples = cls.examples(seeded(0)) if hasattr(cls, "examples") else []
        if examples:
            example = _example(group, name, examples[0])
        else:
            problems.append("examples() declares no example")
    except Exception as exc:
        problems.append(f"examples() failed: {type(exc).__name__}: {exc}")
    return CatalogueEntry(
        group, name, distribution, target, paper, summary, _constructor(name, cls),
        _call(group, cls), example, tuple(problems),
    )


def citation(cls: Any) -> str | None:
    """The first link in the docstring of ``cls`` or of its nearest ancestor with one; else the
    first author-year citation of its own docstring."""
    for klass in inspect.getmro(cls):
        if klass is object:
            break
        found = _LINK.search(klass.__dict__.get("__doc__") or "")
        if found:
            return found.group(0).rstrip(".,;:")
    found = _AUTHOR_YEAR.search(cls.__dict__.get("__doc__") or "")
    return " ".join(found.group(0).split()) if found else None


_SENTENCE_END = re.compile(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)(?<!\bEq)(?<!\bSec)(?<!\bvs)\.(\s|$)")


def _first_sentence(doc: str) -> str:
    """The docstring's first sentence (``et al.``, ``e.g.``, ``Eq.`` do not end one), links
    written as their titles."""
    para = " ".join(doc.strip().split("\n\n")[0].split())
    para = re.sub(r"`([^`<]+?)\s*<[^>]+>`_", r"\1", para)
    match = _SENTENCE_END.search(para)
    text = para[: match.start() + 1] if match else para.rstrip(":")
    return text if len(text) <= 240 else text[:239].rstrip() + "…"


def _constructor(name: str, cls: Any) -> str:
    try:
        params = inspect.signature(cls.__init__).parameters.values()
    except (TypeError, ValueError):
        return f"{name}(...)"
    shown = [
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    return f"{name}(" + ("*, " + ", ".join(shown) if shown else "") + ")"


def _call(group: str, cls: Any) -> str:
    method = _CALL[group]
    if group == "augmentations":
        return "__call__(x, *, generator=None)"
    fn = getattr(cls, method, None)
    if fn is None:
        return f"{method}(...)"
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return f"{method}(...)"
    parts = []
    star = False
    for p in sig.parameters.values():
        if p.name == "self":
            continue
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        parts.append(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}")
    return f"{method}({', '.join(parts)})"


def _value(v: Any) -> str:
    try:
        import torch

        if isinstance(v, torch.Tensor):
            dtype = str(v.dtype).removeprefix("torch.")
            return f"<{dtype} {tuple(v.shape)}>"
        if isinstance(v, torch.Generator):
            return "generator"
    except ImportError:  # pragma: no cover
        pass
    if isinstance(v, (list, tuple)) and any(not isinstance(x, (int, float, str, bool)) for x in v):
        inner = ", ".join(_value(x) for x in v)
        if len(inner) > 60:
            inner = f"... {len(v)} items"
        return f"[{inner}]" if isinstance(v, list) else f"({inner})"
    if isinstance(v, (int, float, str, bool, type(None), dict, list, tuple)):
        text = repr(v)
        return text if len(text) <= 60 else text[:57] + "..."
    return f"<{type(v).__name__}>"


def _kwargs(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in d.items())


def _example(group: str, name: str, ex: Any) -> str:
    build = f'concord.build("{group}", "{name}"' + (f", {_kwargs(ex.init)}" if ex.init else "") + ")"
    if group == "losses":
        args = [_value(a) for a in ex.args] + [f"{k}={_value(v)}" for k, v in ex.kwargs.items()]
        return f"{build}({', '.join(args)})"
    if group == "samplers":
        return f"{build}.bind({_kwargs(ex.bind)}).tile(i0, i1, j0, j1)"
    return f"{build}({_value(ex.input)}, generator=torch.Generator().manual_seed(0))"


def render_markdown(rows: list[CatalogueEntry]) -> str:
    """The catalogue as a Markdown page, one section per group."""
    out = ["# concord components", "",
           "Generated by `concord docs` from the installed entry points; every field comes from the "
           "component's own docstring, signature and declared examples.", ""]
    for g in _GROUPS:
        section = [r for r in rows if r.group == g]
        if not section:
            continue
        out += [f"## {g}", ""]
        for r in section:
            out.append(f"### `{r.name}`" + (f" ({r.distribution})" if r.distribution else ""))
            out.append("")
            if r.summary:
                out += [r.summary, ""]
            out.append(f"- paper: {r.paper}" if r.paper else "- paper: none (not a published method)")
            out.append(f"- constructor: `{r.signature}`")
            out.append(f"- call: `{r.call}`")
            if r.example:
                out.append(f"- example: `{r.example}`")
            for p in r.problems:
                out.append(f"- **problem**: {p}")
            out.append("")
    return "\n".join(out).rstrip() + "\n"
