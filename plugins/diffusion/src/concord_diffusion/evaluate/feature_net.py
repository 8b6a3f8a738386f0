"""A small classifier trained on the data set itself, whose penultimate layer is the feature space
of Fréchet distance and precision / recall when no Inception network may be downloaded."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from concord.errors import InputError

__all__ = ["FeatureClassifier", "TrainedFeatureNet", "cached_feature_net", "dataset_fingerprint"]

_VERSION = 1  # bump when the architecture or the training recipe changes (invalidates caches)


class FeatureClassifier(nn.Module):
    """Three conv blocks (3x3 conv, GroupNorm, SiLU, 2x2 average pool) then a global average:
    ``features(x)`` is a ``(N, 4 * width)`` vector; ``forward(x)`` the class logits.

    Args:
        in_channels: image channels.
        num_classes: classes of the labels it learns.
        width: channels of the first block (default: ``16``; then 2x, 4x).
    """

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for out in (width, 2 * width, 4 * width):
            layers += [nn.Conv2d(c, out, 3, padding=1), nn.GroupNorm(8, out), nn.SiLU(),
                       nn.Conv2d(out, out, 3, padding=1), nn.GroupNorm(8, out), nn.SiLU(), nn.AvgPool2d(2)]
            c = out
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, num_classes)
        self.in_channels, self.num_classes, self.width = in_channels, num_classes, width

    def features(self, x: Tensor) -> Tensor:
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def dataset_fingerprint(images: Tensor, labels: Tensor) -> str:
    """SHA-256 of the uint8 images, their shape and the labels (the cache key's data part)."""
    h = hashlib.sha256()
    h.update(json.dumps([list(images.shape), str(images.dtype)]).encode())
    h.update(images.contiguous().numpy().tobytes())
    h.update(labels.to(torch.int64).contiguous().numpy().tobytes())
    return h.hexdigest()


@dataclass
class TrainedFeatureNet:
    net: FeatureClassifier
    accuracy: float
    cached: bool
    path: Path | None

    def __call__(self, x: Tensor) -> Tensor:
        return self.net.features(x)


def _to_model_range(images: Tensor) -> Tensor:
    return images.float() / 127.5 - 1.0


def _train(images: Tensor, labels: Tensor, *, epochs: int, batch_size: int, seed: int, width: int,
           progress_desc: str) -> tuple[FeatureClassifier, float]:
    from concord.run import progress

    g = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    perm = torch.randperm(n, generator=g)
    held = max(1, n // 10)
    val_idx, train_idx = perm[:held], perm[held:]
    num_classes = int(labels.max()) + 1
    torch.manual_seed(seed)
    net = FeatureClassifier(images.shape[1], num_classes, width)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    steps_per_epoch = max(1, len(train_idx) // batch_size)
    net.train()
    for _ in progress(range(epochs), desc=progress_desc):
        order = train_idx[torch.randperm(len(train_idx), generator=g)]
        for j in range(steps_per_epoch):
            idx = order[j * batch_size : (j + 1) * batch_size]
            loss = nn.functional.cross_entropy(net(_to_model_range(images[idx])), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    correct = 0
    with torch.no_grad():
        for j in range(0, held, 1000):
            idx = val_idx[j : j + 1000]
            correct += int((net(_to_model_range(images[idx])).argmax(1) == labels[idx]).sum())
    return net, correct / held


def cached_feature_net(
    images: Tensor,
    labels: Tensor,
    cache_dir: str | Path | None,
    *,
    epochs: int = 2,
    batch_size: int = 128,
    seed: int = 0,
    width: int = 16,
) -> TrainedFeatureNet:
    """Train :class:`FeatureClassifier` on ``(images, labels)`` -- or load it from ``cache_dir``
    when the same data, architecture and recipe were trained before.

    The classifier is trained on 90% of the images (a fixed, seeded split) and its accuracy on the
    other 10% is returned, so a report says how meaningful its features are. The cache file
    (``feature_net_<key>.pt``, written atomically, loaded with ``weights_only=True``) is keyed by
    :func:`dataset_fingerprint` and every training choice.

    Args:
        images: ``(N, C, H, W)`` uint8 training images (as the consistency model sees them).
        labels: ``(N,)`` integer class labels.
        cache_dir: where to keep trained nets (``None``: train, do not cache).
        epochs, batch_size, seed, width: the training recipe (defaults: 2, 128, 0, 16).
    """
    from concord.run import load_checkpoint, save_checkpoint

    if images.dtype != torch.uint8 or images.dim() != 4:
        raise InputError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    if labels.shape != (images.shape[0],) or labels.is_floating_point():
        raise InputError("the built-in feature network needs one integer class label per image")
    recipe: dict[str, Any] = dict(epochs=epochs, batch_size=batch_size, seed=seed, width=width, version=_VERSION)
    key = hashlib.sha256((dataset_fingerprint(images, labels) + json.dumps(recipe, sort_keys=True)).encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"feature_net_{key}.pt" if cache_dir is not None else None
    num_classes = int(labels.max()) + 1
    if path is not None and path.exists():
        state = load_checkpoint(path)
        net = FeatureClassifier(images.shape[1], num_classes, width)
        net.load_state_dict(state["model"])
        return TrainedFeatureNet(net.eval(), float(state["accuracy"]), True, path)
    t0 = time.perf_counter()
    net, accuracy = _train(images, labels, epochs=epochs, batch_size=batch_size, seed=seed, width=width,
                           progress_desc="feature net")
    if path is not None:
        save_checkpoint({"model": net.state_dict(), "accuracy": accuracy, "recipe": recipe,
                         "seconds": time.perf_counter() - t0}, path)
    return TrainedFeatureNet(net, accuracy, False, path)
