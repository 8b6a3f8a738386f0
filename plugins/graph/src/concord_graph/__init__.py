"""concord-graph: contrastive learning on graphs with PyTorch Geometric.

Augmentations (:mod:`concord_graph.augment`), GRACE / GCA node contrast in full-batch and
mini-batch mode (:mod:`concord_graph.contrast`), POT's certified node compactness
(:mod:`concord_graph.pot`), MEOW / AdaMEOW heterogeneous meta-path contrast
(:mod:`concord_graph.hetero`), data loading (:mod:`concord_graph.data`), linear evaluation
(:mod:`concord_graph.evaluate`) and the ``concord graph train`` command (:mod:`concord_graph.cli`).
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("concord-graph")
except _metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
