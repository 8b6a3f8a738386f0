"""The demo's training and evaluation (``train(run)``, called by :func:`concord.run.run_training`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from concord.demo.config import DemoConfig
from concord.demo.encoder import Encoder
from concord.demo.few_labels import (
    few_label_accuracy,
    few_label_table,
    linear_probe,
    plot_few_labels,
)
from concord.demo.views import random_view
from concord.errors import ConfigError
from concord.run.components import build_component

__all__ = ["load_digits", "train"]

FEATURES = ("pretrained", "untrained", "pixels")


def load_digits() -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 8x8 digits, pixels scaled to [0, 1]."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError as exc:
        raise ImportError("the demo needs scikit-learn: pip install 'concord-core[examples]'") from exc
    d = sklearn_digits()
    return torch.tensor(d.data, dtype=torch.float32) / 16.0, torch.tensor(d.target)


def train(run: Any) -> dict[str, Any]:
    """Pretrain on the training split's images (no labels), then probe the pretrained encoder,
    the same encoder untrained, and raw pixels: with every training label and with few."""
    from sklearn.model_selection import train_test_split

    from concord.run import (
        atomic_write_text,
        capture_rng,
        progress,
        restore_rng,
        say,
        seed_everything,
    )
    from concord.run.plots import scatter_2d

    cfg: DemoConfig = run.config
    run_dir, resume_state, device = run.dir, run.resume_state, run.device
    g = seed_everything(cfg.seed)
    x, y = load_digits()
    yn = y.numpy()
    idx_train, idx_test = (np.asarray(i) for i in train_test_split(
        np.arange(len(y)), test_size=cfg.data.test_fraction, stratify=yn, random_state=cfg.seed))
    fewest = int(np.bincount(yn[idx_train]).min())
    if max(cfg.eval.labels_per_class) > fewest:
        raise ConfigError(f"eval.labels_per_class: the training split has only {fewest} images of its "
                          f"rarest class, got {max(cfg.eval.labels_per_class)}")
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
            z1 = model(random_view(batch, cfg.augment, g).to(device))
            z2 = model(random_view(batch, cfg.augment, g).to(device))
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
        features = {
            "pretrained": model.backbone(x.to(device)).cpu().numpy(),
            "untrained": untrained.backbone(x).numpy(),  # kept on the CPU
            "pixels": x.numpy(),
        }
    report: dict[str, Any] = {}
    for name in FEATURES:
        f = features[name]
        report[f"probe_acc_{name}"] = linear_probe(f[idx_train], yn[idx_train], f[idx_test], yn[idx_test],
                                                   unlabelled=f[idx_train])
    say("linear probe on few labels (test accuracy, mean ± sd over "
        f"{cfg.eval.draws} draws of the labelled images):")
    acc = few_label_accuracy(features, yn, idx_train, idx_test, labels_per_class=cfg.eval.labels_per_class,
                             draws=cfg.eval.draws, seed=cfg.seed)
    table = few_label_table(acc)
    for line in table.splitlines():
        say(line)
    for k, by_name in acc.items():
        for name, values in by_name.items():
            report[f"few_label_acc_{name}_{k}"] = float(np.mean(values))
            report[f"few_label_acc_{name}_{k}_std"] = float(np.std(values))
    report.update(epochs=cfg.train.epochs, n_train=len(idx_train), n_test=len(idx_test))
    atomic_write_text(run_dir.file("few_labels.txt"), table + "\n")
    plot_few_labels(acc, run_dir.file("few_labels.png"),
                    title=f"digits: linear probe on few labels ({cfg.eval.draws} draws)")
    run_dir.plot_metrics(["loss"], "curves.png")
    centred = torch.tensor(features["pretrained"]) - torch.tensor(features["pretrained"]).mean(0)
    _, _, v = torch.pca_lowrank(centred, q=2, center=False)
    scatter_2d((centred @ v[:, :2]).numpy(), yn, run_dir.file("embedding_pca.png"),
               title="digits: pretrained encoder, PCA")
    return report
