"""One status line per epoch where no progress bar is drawn (a log file, a pipe, CI)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from concord.run import say

__all__ = ["epoch_line"]


def epoch_line(desc: str, epoch: int, epochs: int, row: Mapping[str, float], seconds: float) -> None:
    """``[concord] <desc> epoch 3/200: loss 1.2345  nce 1.2000 (0.4 s)`` on stderr, from rank 0,
    when stderr is not a terminal (on a terminal the epoch bar shows the same)."""
    if sys.stderr.isatty():
        return
    values = "  ".join(f"{k} {v:.4f}" for k, v in row.items())
    say(f"{desc} epoch {epoch + 1}/{epochs}: {values} ({seconds:.1f} s)")
