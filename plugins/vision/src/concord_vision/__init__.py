"""concord-vision: dense self-supervised pretraining (PixPro, PixContrast, DenseCL, a BYOL-style
instance baseline) on mmengine + mmsegmentation, and its transfer to segmentation.

torch-only parts -- pixel geometry (:mod:`concord_vision.geometry`), the pixel-pair sampler
(:mod:`concord_vision.pairs`), the losses (:mod:`concord_vision.losses`), the two-crop
augmentations (:mod:`concord_vision.augment`) and the network pieces (:mod:`concord_vision.nn`) --
import without OpenMMLab. The mmengine models (:mod:`concord_vision.models`), hooks, datasets and
transfer code need ``mmsegmentation``; :mod:`concord_vision.registration` puts them into mmseg's
registries (the one place that does).
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("concord-vision")
except _metadata.PackageNotFoundError:  # pragma: no cover - source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
