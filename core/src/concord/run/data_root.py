"""Where a run looks for its data when the config names no ``data.root``.

Every plugin follows one convention: ``$CONCORD_DATA`` when set, else ``data`` (a folder under
the working directory). Nothing is downloaded unless a plugin's config asks for it explicitly.
"""

from __future__ import annotations

import os

__all__ = ["DATA_ROOT_ENV", "default_data_root"]

#: The environment variable naming the folder that holds the data sets.
DATA_ROOT_ENV = "CONCORD_DATA"


def default_data_root() -> str:
    """``$CONCORD_DATA`` if set and not empty, else ``"data"`` (relative to the working directory).
    Use it as ``root: str = field(default_factory=default_data_root)`` in a run config."""
    return os.environ.get(DATA_ROOT_ENV) or "data"
