"""The one place where concord-vision meets OpenMMLab's registries.

Importing this module (what an mmengine config's
``custom_imports = dict(imports=['concord_vision.registration'])`` does) or calling
:func:`register` puts the plugin's modules into mmsegmentation's registries, under names
prefixed ``Concord`` where mmcv / mmseg already use the plain name:

========== ============================================================================
TRANSFORMS ``ConcordTwoViews``, ``ConcordPackTwoViews`` and each single augmentation
           (``ConcordRandomResizedCrop``, ``ConcordRandomFlip``, ``ConcordColorJitter``,
           ``ConcordRandomGrayscale``, ``ConcordGaussianBlur``, ``ConcordSolarize``)
MODELS     ``PixPro``, ``PixContrast``, ``DenseCL``, ``BYOL``, ``ConcordTwoViewPreprocessor``
HOOKS      ``ConcordMomentumHook``, ``DenseCLWarmupHook``, ``ConcordPlainCheckpointHook``
DATASETS   ``CamVidDataset``, ``ConcordImageFolders``
METRICS    ``ConcordIoUMetric``
========== ============================================================================

Registering twice is a no-op (mmengine refuses duplicates, so the check is by name); mmseg's
own modules are registered too (``register_all_modules``), with ``mmseg`` as default scope.
"""

from __future__ import annotations

from typing import Any

__all__ = ["register", "registered_names"]

_DONE = False


def _table() -> dict[str, dict[str, Any]]:
    from concord_vision import augment
    from concord_vision.checkpoints import PlainCheckpointHook
    from concord_vision.datasets import CamVidDataset, ImageFolders
    from concord_vision.evaluation import PerClassIoUMetric
    from concord_vision.hooks import DenseCLWarmupHook, MomentumHook
    from concord_vision.models import BYOL, DenseCL, PixContrast, PixPro, TwoViewPreprocessor
    from concord_vision.transforms import AugmentationTransform, PackTwoViews

    transforms: dict[str, Any] = {"ConcordPackTwoViews": PackTwoViews}
    for cls in (augment.TwoViews, augment.RandomResizedCrop, augment.RandomFlip, augment.ColorJitter,
                augment.RandomGrayscale, augment.GaussianBlur, augment.Solarize):
        name = f"Concord{cls.__name__}"
        transforms[name] = type(name, (AugmentationTransform,), {
            "augmentation": cls, "__doc__": f"mmcv transform running :class:`{cls.__module__}.{cls.__name__}`.",
            "__module__": __name__,
        })
    return {
        "TRANSFORMS": transforms,
        "MODELS": {"PixPro": PixPro, "PixContrast": PixContrast, "DenseCL": DenseCL, "BYOL": BYOL,
                   "ConcordTwoViewPreprocessor": TwoViewPreprocessor},
        "HOOKS": {"ConcordMomentumHook": MomentumHook, "DenseCLWarmupHook": DenseCLWarmupHook,
                  "ConcordPlainCheckpointHook": PlainCheckpointHook},
        "DATASETS": {"CamVidDataset": CamVidDataset, "ConcordImageFolders": ImageFolders},
        "METRICS": {"ConcordIoUMetric": PerClassIoUMetric},
    }


def register() -> None:
    """Register mmseg's modules and concord-vision's into mmseg's registries (idempotent)."""
    global _DONE
    if _DONE:
        return
    import mmseg.registry as registries
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    for registry_name, modules in _table().items():
        registry = getattr(registries, registry_name)
        for name, cls in modules.items():
            if name not in registry.module_dict:
                registry.register_module(name=name, module=cls)
    _DONE = True


def registered_names() -> dict[str, list[str]]:
    """What :func:`register` adds, by registry (for listings and close-match errors)."""
    return {reg: sorted(mods) for reg, mods in _table().items()}


register()
