"""Views of a run config: composed augmentations and the edge-drop rate POT certifies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from concord.augment.compose import Compose

__all__ = ["build_view", "edge_drop_rate"]


def _identity(data: Any, *, generator: torch.Generator | None = None) -> Any:
    return data


def build_view(steps: list[dict[str, Any]]) -> Callable[..., Any]:
    """A :class:`concord.augment.Compose` of registered augmentations; an empty list is the
    unaugmented graph itself."""
    if not steps:
        return _identity
    return Compose(steps=steps)


def edge_drop_rate(steps: list[dict[str, Any]], which: str) -> float:
    """The ``p`` of a view's ``graph.drop_edges`` step (POT's default budget for that view)."""
    rates = [float(s.get("p", 0.2)) for s in steps if s.get("name") == "graph.drop_edges"]
    if len(rates) != 1:
        raise ValueError(
            f"POT needs the edge-drop budget of {which}: give pot.budget explicitly, or use exactly one "
            f"graph.drop_edges step in the view (found {len(rates)})"
        )
    return rates[0]
