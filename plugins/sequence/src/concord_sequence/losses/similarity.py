"""The ``similarity`` option shared by the sequence losses: ``"dot"`` or ``"cos"``."""

from __future__ import annotations

from concord.validation import check_choice

__all__ = ["SIMILARITIES", "check_similarity"]

SIMILARITIES = ("dot", "cos")


def check_similarity(value: str) -> str:
    return check_choice("similarity", value, SIMILARITIES)
