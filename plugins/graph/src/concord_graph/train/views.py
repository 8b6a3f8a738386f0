"""Views of a run config: composed augmentations and the edge-drop rate POT certifies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from concord.augment.compose import Compose
from concord.errors import ConfigError
from concord.run.components import build_component

__all__ = ["build_view", "edge_drop_rate"]


def _identity(data: Any, *, generator: torch.Generator | None = None) -> Any:
    return data


def build_view(steps: list[dict[str, Any]], which: str = "view") -> Callable[..., Any]:
    """A :class:`concord.augment.Compose` of the registered augmentations ``steps`` names (any
    installed ``concord.augmentations`` entry point); an empty list is the unaugmented graph."""
    if not steps:
        return _identity
    return Compose(steps=[build_component("augmentations", s, where=f"augment.{which}[{i}]")
                          for i, s in enumerate(steps)])


def edge_drop_rate(steps: list[dict[str, Any]], which: str) -> float:
    """The drop rate ``p`` of a view's ``graph.drop_edges`` step, as the built augmentation holds
    it (its own default when the config gives none): POT's default budget for that view."""
    drops = [build_component("augmentations", s, where=f"augment.{which}[{i}]")
             for i, s in enumerate(steps) if s.get("name") == "graph.drop_edges"]
    if len(drops) != 1:
        raise ConfigError(
            f"POT needs the edge-drop budget of {which}: give pot.budget explicitly, or use exactly one "
            f"graph.drop_edges step in the view (found {len(drops)})"
        )
    return float(drops[0].p)
