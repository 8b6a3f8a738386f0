"""concord: contrastive learning and consistency regularization as a plug-in for any domain.

The core is small: interfaces (:mod:`concord.losses.base`, :mod:`concord.samplers.base`,
:mod:`concord.augment.base`), an entry-point registry, domain-free losses, samplers and
feature-space augmentations, cross-process gathering (:mod:`concord.distributed`), the run
conventions the plugins' training CLIs share (:mod:`concord.run`) and the contract suite
(:mod:`concord.testing`). Importing ``concord`` imports neither torch nor any plugin framework.

    >>> import concord
    >>> loss = concord.build("losses", "nt_xent", temperature=0.1)
"""

from __future__ import annotations

from importlib import metadata as _metadata

from concord.errors import (
    CheckpointError,
    ComponentConflictError,
    ConfigError,
    DataError,
    DataNotFoundError,
    DeviceError,
    InputError,
    PluginImportError,
    UnknownComponentError,
    UserError,
)
from concord.registry import Entry, Registry, build, components, load

#: The distribution that provides this package (PyPI's ``concord`` is an unrelated project).
DISTRIBUTION = "concord-core"

try:
    __version__ = _metadata.version(DISTRIBUTION)
except _metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = [
    "DISTRIBUTION",
    "CheckpointError",
    "ComponentConflictError",
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "DeviceError",
    "Entry",
    "InputError",
    "PluginImportError",
    "Registry",
    "UnknownComponentError",
    "UserError",
    "__version__",
    "build",
    "components",
    "load",
]
