"""The user-error family: what a CLI reports in one line, as opposed to a bug.

Every error a *user* can cause and fix -- a configuration key that does not exist, a data set
that is not where the config says, a tensor of the wrong shape handed to a loss, a corrupt
checkpoint, a plugin whose framework is not installed, a device this machine does not have --
derives from :class:`UserError`. The training CLIs (:func:`concord.run.report_errors`) print such
an error as one line, ``error: <message>``, and exit with status 2. Anything else is a bug in
concord or a plugin: its traceback is kept, followed by a line asking to report it.

=========================  ============================================  =====================
class                      raised for                                     also a
=========================  ============================================  =====================
:class:`ConfigError`       unknown / invalid config keys and values,      ``ValueError``
                           unknown components, unusable ``--resume``
:class:`UnknownComponentError`  no installed component of that name       ``ConfigError``,
                                                                          ``LookupError``
:class:`DataError`         incomplete or malformed data sets              ``ValueError``
:class:`DataNotFoundError` a data set or file that is not where the       ``DataError``,
                           config says                                    ``FileNotFoundError``
:class:`InputError`        bad tensors at a component's boundary          ``ValueError``
                           (shape, dtype, NaN, empty positives)
:class:`CheckpointError`   missing, truncated, corrupt or foreign         ``RuntimeError``
                           checkpoint files
:class:`PluginImportError` a component whose module fails to import       ``ImportError``
:class:`DeviceError`       a device this machine or torch build lacks     ``ConfigError``
=========================  ============================================  =====================

The second base keeps ``except ValueError`` (and friends) working for library callers.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ComponentConflictError",
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "DeviceError",
    "InputError",
    "PluginImportError",
    "UnknownComponentError",
    "UserError",
]


class UserError(Exception):
    """Base of every error the user can fix; a CLI shows its message alone, in one line."""


class ConfigError(UserError, ValueError):
    """A configuration names a key, value or component that does not exist or is not valid."""


class UnknownComponentError(ConfigError, LookupError):
    """No installed distribution declares the requested component name."""


class DeviceError(ConfigError):
    """The configured device does not exist here (no CUDA in this torch build, a GPU index
    beyond the visible ones, an unknown device name)."""


class DataError(UserError, ValueError):
    """A data set is missing, incomplete, or not in the format its reader expects."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data set (or one of its files) is not where the configuration says; the message names
    the files expected, where, and how to obtain them."""


class InputError(UserError, ValueError):
    """A tensor or argument handed to a component is not what it accepts (wrong shape, dtype,
    non-finite values, a query without positives)."""


class CheckpointError(UserError, RuntimeError):
    """A checkpoint file is missing, truncated, corrupt, or not a concord checkpoint."""


class PluginImportError(UserError, ImportError):
    """A component's module failed to import (typically: its framework is not installed)."""


class ComponentConflictError(UserError, RuntimeError):
    """Two distributions declare the same name in the same group (an installation problem the
    user fixes by uninstalling one; reported with both names)."""
