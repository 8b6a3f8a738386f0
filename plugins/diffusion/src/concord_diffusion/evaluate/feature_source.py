"""Which network's features the evaluation compares: the user's, or the built-in classifier."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from concord.errors import ConfigError, DataError
from concord_diffusion.data.image_set import to_model_range
from concord_diffusion.evaluate.feature_net import cached_feature_net

__all__ = ["default_cache_dir", "extract_features", "feature_network"]


def default_cache_dir() -> Path:
    """``$CONCORD_CACHE/diffusion``, else ``$XDG_CACHE_HOME/concord/diffusion``, else
    ``~/.cache/concord/diffusion`` (outside the repository; nothing there is downloaded)."""
    base = os.environ.get("CONCORD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "concord")
    return Path(base) / "diffusion"


def _user_network(spec: str) -> nn.Module:
    module_name, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"eval.feature_net={spec!r}: cannot import {module_name!r} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"eval.feature_net={spec!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    net = obj() if callable(obj) and not isinstance(obj, nn.Module) else obj
    if not callable(net):
        raise ConfigError(f"eval.feature_net={spec!r} gave {type(net).__name__}, not a callable network")
    return net


def feature_network(spec: str | None, images: Tensor, labels: Tensor | None, *, cache_dir: str | Path | None,
                    epochs: int, seed: int, width: int = 16) -> tuple[Callable[[Tensor], Tensor], dict[str, Any]]:
    """The feature function and what the report says about it.

    ``spec`` ``None``: the built-in :class:`~concord_diffusion.evaluate.feature_net.FeatureClassifier`
    trained on ``(images, labels)`` (cached); otherwise ``"package.module:factory"``.
    """
    if spec is not None:
        net = _user_network(spec)
        if isinstance(net, nn.Module):
            net.eval()
        return net, {"feature_net": spec}
    if labels is None:
        raise DataError("the built-in feature network learns the class labels, and this data set has none: "
                        "give eval.feature_net='package.module:factory' (your own network), or set eval.enabled=false")
    trained = cached_feature_net(images, labels, cache_dir if cache_dir is not None else default_cache_dir(),
                                 epochs=epochs, seed=seed, width=width)
    return trained, {"feature_net": "built-in classifier", "feature_net_accuracy": trained.accuracy,
                     "feature_net_cached": trained.cached}


@torch.no_grad()
def extract_features(features: Callable[[Tensor], Tensor], images: Tensor, *, batch_size: int = 500,
                     device: torch.device | str = "cpu") -> Tensor:
    """Features ``(N, D)`` (float64, CPU) of images given as uint8 ``(N, C, H, W)`` or as floats in
    ``[-1, 1]``, in batches on ``device``."""
    net = features.net if hasattr(features, "net") else features
    if isinstance(net, nn.Module):
        net.to(device)
    out = []
    for i in range(0, images.shape[0], batch_size):
        x = images[i : i + batch_size]
        x = to_model_range(x) if x.dtype == torch.uint8 else x.float()
        f = features(x.to(device))
        if not isinstance(f, Tensor) or f.dim() != 2 or f.shape[0] != x.shape[0]:
            raise ConfigError(f"the feature network must return (N, D) features, got "
                              f"{tuple(f.shape) if isinstance(f, Tensor) else type(f).__name__}")
        out.append(f.detach().to("cpu", torch.float64))
    return torch.cat(out)
