"""``concord demo train``: SimCLR-style pretraining of a small encoder on scikit-learn's digits.

The core's own end-to-end job, on data that an installed package ships (1,797 8x8 digits). It
follows the run conventions every plugin CLI follows (config, ``--set``, ``metrics.jsonl``,
``report.json``, atomic checkpoints, ``--resume``, PNG plots) and ends with a linear probe
(scikit-learn ``LogisticRegression`` on frozen, L2-normalised features) of the trained encoder
against the same encoder untrained and against raw pixels, on a stratified held-out split.

    concord demo train [CONFIG] [--set train.epochs=5] [--output DIR] [--resume]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from concord.augment.feature_mask import FeatureMask
from concord.augment.gaussian_noise import GaussianNoise
from concord.devices import check_device
from concord.run.components import build_component, component_field
from concord.validation import check_positive, check_probability

__all__ = ["DemoConfig", "main", "train"]


@dataclass
class DataConfig:
    root: str = "builtin"
    name: Literal["digits"] = "digits"
    test_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.root != "builtin":
            raise ValueError(
                f"data.root: the demo uses the digits scikit-learn ships, root must be 'builtin', got {self.root!r}"
            )
        check_probability("data.test_fraction", self.test_fraction)


@dataclass
class ModelConfig:
    hidden: int = 256
    dim: int = 128
    projection: int = 128


@dataclass
class AugmentConfig:
    shift: int = 1
    mask_p: float = 0.2
    noise_std: float = 0.1


@dataclass
class TrainConfig:
    epochs: int = 60
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    #: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (:mod:`concord.devices`)
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 2:
            raise ValueError("train.epochs must be >= 0 and train.batch_size >= 2")
        check_positive("train.lr", self.lr)
        check_device("train.device", self.device)


@dataclass
class DemoConfig:
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    #: any registered two-view loss ``loss(z1, z2)``; the other keys are its options
    loss: dict[str, Any] = component_field("losses", {"name": "nt_xent", "temperature": 0.2})


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Linear(64, cfg.hidden), nn.BatchNorm1d(cfg.hidden), nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.dim),
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(cfg.dim, cfg.projection))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.backbone(x))


def _load_digits() -> tuple[Tensor, Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("the demo needs scikit-learn: pip install 'concord-core[examples]'") from exc
    d = load_digits()
    return torch.tensor(d.data, dtype=torch.float32) / 16.0, torch.tensor(d.target)


def _shift(x: Tensor, max_shift: int, g: torch.Generator) -> Tensor:
    """Translate each 8x8 image by up to ``max_shift`` pixels (zero fill)."""
    if max_shift == 0:
        return x
    imgs = x.view(-1, 1, 8, 8)
    n = imgs.shape[0]
    pad = nn.functional.pad(imgs, (max_shift,) * 4)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(8)[None, :])[:, :, None].expand(n, 8, 8)
    cols = (dx[:, None] + torch.arange(8)[None, :])[:, None, :].expand(n, 8, 8)
    out = pad[torch.arange(n)[:, None, None], 0, rows, cols]
    return out.reshape(n, 64)


def _view(x: Tensor, cfg: AugmentConfig, g: torch.Generator) -> Tensor:
    x = _shift(x, cfg.shift, g)
    if cfg.mask_p > 0:
        x = FeatureMask(p=cfg.mask_p)(x, generator=g)
    if cfg.noise_std > 0:
        x = GaussianNoise(std=cfg.noise_std)(x, generator=g)
    return x


def _probe(train_x: Any, train_y: Any, test_x: Any, test_y: Any) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    clf = LogisticRegression(max_iter=3000)
    clf.fit(normalize(train_x), train_y)
    return float(clf.score(normalize(test_x), test_y))


def train(run: Any) -> dict[str, Any]:
    """The demo's training and evaluation on one process (``run``: a :class:`concord.run.Run`)."""
    from sklearn.model_selection import train_test_split

    from concord.run import capture_rng, progress, restore_rng, seed_everything
    from concord.run.plots import scatter_2d

    cfg: DemoConfig = run.config
    run_dir, resume_state, device = run.dir, run.resume_state, run.device
    g = seed_everything(cfg.seed)
    x, y = _load_digits()
    idx_train, idx_test = train_test_split(
        range(len(y)), test_size=cfg.data.test_fraction, stratify=y.numpy(), random_state=cfg.seed
    )
    model = Encoder(cfg.model)
    untrained = Encoder(cfg.model)
    untrained.load_state_dict(model.state_dict())
    loss_fn = build_component("losses", cfg.loss, where="loss")
    model.to(device)
    loss_fn.to(device)
    opt = torch.optim.AdamW(
        [*model.parameters(), *loss_fn.parameters()], lr=cfg.train.lr, weight_decay=cfg.train.weight_decay
    )
    x_train = x[idx_train]
    start = 0
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        untrained.load_state_dict(resume_state["untrained"])
        loss_fn.load_state_dict(resume_state["loss"])
        opt.load_state_dict(resume_state["optimizer"])
        g.set_state(resume_state["generator"])
        restore_rng(resume_state["rng"])
        start = int(resume_state["epoch"]) + 1

    for epoch in progress(range(start, cfg.train.epochs), desc="demo", initial=start, total=cfg.train.epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=g)
        total, batches = 0.0, 0
        for b0 in range(0, len(perm), cfg.train.batch_size):
            batch = x_train[perm[b0 : b0 + cfg.train.batch_size]]
            if len(batch) < 2:
                continue
            z1 = model(_view(batch, cfg.augment, g).to(device))
            z2 = model(_view(batch, cfg.augment, g).to(device))
            loss = loss_fn(z1, z2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        run_dir.log({"epoch": epoch, "loss": total / max(batches, 1)})
        run_dir.save_progress({
            "epoch": epoch, "model": model.state_dict(), "untrained": untrained.state_dict(),
            "loss": loss_fn.state_dict(), "optimizer": opt.state_dict(),
            "generator": g.get_state(), "rng": capture_rng(),
        }, done=epoch + 1)

    model.eval()
    untrained.eval()
    with torch.no_grad():
        feats = model.backbone(x.to(device)).cpu().numpy()
        feats0 = untrained.backbone(x).numpy()
    yn = y.numpy()
    report = {
        "probe_acc_trained": _probe(feats[idx_train], yn[idx_train], feats[idx_test], yn[idx_test]),
        "probe_acc_untrained": _probe(feats0[idx_train], yn[idx_train], feats0[idx_test], yn[idx_test]),
        "probe_acc_pixels": _probe(x.numpy()[idx_train], yn[idx_train], x.numpy()[idx_test], yn[idx_test]),
        "epochs": cfg.train.epochs,
        "n_train": len(idx_train),
        "n_test": len(idx_test),
    }
    run_dir.plot_metrics(["loss"], "curves.png")
    centred = torch.tensor(feats) - torch.tensor(feats).mean(0)
    _, _, v = torch.pca_lowrank(centred, q=2, center=False)
    scatter_2d((centred @ v[:, :2]).numpy(), yn, run_dir.file("embedding_pca.png"),
               title="digits: trained encoder, PCA")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    from concord.run import add_train_arguments, report_errors, run_training

    parser = argparse.ArgumentParser(prog="concord demo", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="pretrain on digits and report linear-probe accuracy")
    add_train_arguments(p_train, config_required=False)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    @report_errors
    def run() -> int:
        return run_training(args, DemoConfig, train, default_name="demo")

    return run()
