"""concord-sequence: contrastive sequential recommendation on concord.

Data (RecBole atomic ``.inter`` files and the one-line-per-user format), the SASRec encoder,
sequence augmentations (crop / mask / reorder / substitute / insert), the CL4SRec, DuoRec and
MCLRec objectives, leave-one-out full-ranking evaluation, and the ``concord sequence train``
command. Components are registered as concord entry points under the ``sequence.`` prefix.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("concord-sequence")
except _metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
