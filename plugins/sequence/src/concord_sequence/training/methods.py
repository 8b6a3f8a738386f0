"""One class per training method: what a batch costs and how the parameters move.

=========  ==================================================================================
sasrec     :math:`\\mathcal{L}_{rec}` (Kang & McAuley 2018, trained with CE as in RecBole)
cl4srec    :math:`\\mathcal{L}_{rec} + \\lambda \\mathcal{L}_{cl}(h^{a_1}, h^{a_2})` (CL4SRec Eq. 5);
           two distinct augmentations per sequence
duorec     :math:`\\mathcal{L}_{rec} + \\lambda \\mathcal{L}_{Reg}(h', h'_s)` (DuoRec Eq. 16):
           :math:`h'` a second dropout pass of the input, :math:`h'_s` a same-target sequence
mclrec     :math:`\\mathcal{L}_{rec} + \\lambda \\mathcal{L}_{cl} + \\beta \\mathcal{L}_{mcl}` for the
           encoder, :math:`\\lambda \\mathcal{L}_{cl} + \\mathcal{L}_{mcl}` for the augmenters,
           alternated as the official trainer does (``first_order``) or with the exact
           hypergradient of a one-step unrolled bilevel problem (``bilevel``)
=========  ==================================================================================
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call

from concord.augment.base import Augmentation
from concord.distributed import sum_gradients
from concord.errors import ConfigError
from concord.registry import build
from concord.run.components import build_component
from concord_sequence.augment.pair_views import PairViews
from concord_sequence.data.batch import SequenceBatch
from concord_sequence.data.item_similarity import item_cf_similar_items
from concord_sequence.data.same_target import SameTargetSampler
from concord_sequence.data.split import LeaveOneOut
from concord_sequence.losses.mclrec import MCLRecLoss
from concord_sequence.models.augmenter import MLPAugmenter
from concord_sequence.models.sasrec import SASRec
from concord_sequence.training.config import SequenceConfig
from concord_sequence.training.objectives import rec_loss

__all__ = ["METHODS", "Method", "build_augmentations", "build_method"]


def build_augmentations(specs: list[dict[str, Any]], model: SASRec, data: LeaveOneOut,
                        top_k: int) -> list[Augmentation]:
    """Registered augmentations from ``{"name": ..., **options}``; ``mask_token`` and
    ``similar_items`` are filled in from the model and the training data when not given."""
    out: list[Augmentation] = []
    similar: list[list[int]] | None = None
    for spec in specs:
        name, opts = spec["name"], {k: v for k, v in spec.items() if k != "name"}
        if name == "sequence.mask":
            opts.setdefault("mask_token", model.mask_token)
        if name in ("sequence.substitute", "sequence.insert") and "similar_items" not in opts:
            if similar is None:
                similar = item_cf_similar_items(data, top_k=top_k)
            opts["similar_items"] = similar
        out.append(build("augmentations", name, **opts))
    return out


def contrastive_loss(cfg: SequenceConfig) -> Any:
    """The contrastive term ``cfg.loss`` names, built from the registry; it gathers across
    processes (``gather=True``; an identity on one process), which a loss under ``torchrun``
    must support."""
    from concord import distributed

    assert cfg.loss is not None, "the method has no contrastive term"
    return build_component("losses", cfg.loss, where="loss", provided={"gather": True},
                           required=("gather",) if distributed.is_distributed() else (),
                           why={"gather": "under torchrun the contrast spans every process's batch"})


class Method:
    """A training method: ``step(samples)`` runs one batch (optimizer steps included)."""

    name = "sasrec"

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        self.cfg, self.model, self.data, self.generator, self.device = cfg, model, data, generator, device
        self.optimizer = torch.optim.Adam(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)

    # -- helpers -------------------------------------------------------------------------
    def batch(self, samples: np.ndarray) -> tuple[SequenceBatch, Tensor]:
        items, lengths = self.data.inputs(self.data.train_user[samples], self.data.train_pos[samples])
        targets = self.data.targets(self.data.train_user[samples], self.data.train_pos[samples])
        return SequenceBatch(items, lengths), targets.to(self.device)

    def encode(self, batch: SequenceBatch) -> Tensor:
        return self.model(batch.items.to(self.device), batch.lengths.to(self.device))

    def rec(self, h: Tensor, targets: Tensor) -> Tensor:
        return rec_loss(h, self.model.item_weights(), targets)

    def encoder_step(self, loss: Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        sum_gradients(self.model.parameters())
        self.optimizer.step()

    # -- interface -----------------------------------------------------------------------
    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        loss = self.rec(self.encode(batch), targets)
        self.encoder_step(loss)
        return {"loss": float(loss.detach())}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


class CL4SRec(Method):
    name = "cl4srec"

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        super().__init__(cfg, model, data, generator, device)
        m = cfg.method
        self.views = PairViews(build_augmentations(m.augmentations, model, data, m.similar_items_top_k))
        self.loss = contrastive_loss(cfg)

    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        v1, v2 = self.views(batch, self.generator)
        rec = self.rec(self.encode(batch), targets)
        cl = self.loss(self.encode(v1), self.encode(v2))
        loss = rec + self.cfg.method.cl_weight * cl
        self.encoder_step(loss)
        return {"loss": float(loss.detach()), "rec": float(rec.detach()), "cl": float(cl.detach())}


class DuoRec(Method):
    name = "duorec"

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        super().__init__(cfg, model, data, generator, device)
        self.partners = SameTargetSampler(data)
        self.loss = contrastive_loss(cfg)
        self.loss_takes_targets = "targets" in inspect.signature(self.loss.forward).parameters

    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        partner, _ = self.batch(self.partners.sample(samples, self.generator))
        rec = self.rec(self.encode(batch), targets)
        # model augmentation: the same input under a second dropout mask
        h, h_partner = self.encode(batch), self.encode(partner)
        reg = self.loss(h, h_partner, targets) if self.loss_takes_targets else self.loss(h, h_partner)
        loss = rec + self.cfg.method.cl_weight * reg
        self.encoder_step(loss)
        return {"loss": float(loss.detach()), "rec": float(rec.detach()), "cl": float(reg.detach())}


class MCLRec(Method):
    name = "mclrec"

    def __init__(self, cfg: SequenceConfig, model: SASRec, data: LeaveOneOut,
                 generator: torch.Generator, device: torch.device) -> None:
        super().__init__(cfg, model, data, generator, device)
        m = cfg.method
        self.views = PairViews(build_augmentations(m.augmentations, model, data, m.similar_items_top_k))
        self.loss: MCLRecLoss = contrastive_loss(cfg)
        self.aug1 = MLPAugmenter(model.hidden).to(device)
        self.aug2 = MLPAugmenter(model.hidden).to(device)
        self.aug_params = [*self.aug1.parameters(), *self.aug2.parameters()]
        self.aug_optimizer = torch.optim.Adam(self.aug_params, lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        if m.meta_update == "bilevel":
            from concord import distributed

            if distributed.is_distributed():
                raise ConfigError("method.meta_update=bilevel runs on one process; use first_order under torchrun")

    def _set_aug_trainable(self, flag: bool) -> None:
        for p in self.aug_params:
            p.requires_grad_(flag)

    def encoder_objective(self, batch: SequenceBatch, targets: Tensor, v1: SequenceBatch,
                          v2: SequenceBatch) -> tuple[Tensor, Tensor]:
        rec = self.rec(self.encode(batch), targets)
        h1, h2 = self.encode(v1), self.encode(v2)
        return rec + self.loss(h1, h2, self.aug1(h1), self.aug2(h2)), rec

    def meta_objective(self, v1: SequenceBatch, v2: SequenceBatch, *, encoder_grad: bool) -> Tensor:
        with torch.set_grad_enabled(encoder_grad):
            h1, h2 = self.encode(v1), self.encode(v2)
        return self.loss.meta_objective(h1, h2, self.aug1(h1), self.aug2(h2))

    def step(self, samples: np.ndarray) -> dict[str, float]:
        batch, targets = self.batch(samples)
        v1, v2 = self.views(batch, self.generator)
        if self.cfg.method.meta_update == "bilevel":
            meta = self.bilevel_augmenter_step(batch, targets, v1, v2)
        else:
            # official step 1: the encoder, augmenters frozen
            self._set_aug_trainable(False)
            loss, _ = self.encoder_objective(batch, targets, v1, v2)
            self.encoder_step(loss)
            # official step 2: the augmenters, on lambda*L_cl + L_mcl (the encoder is not updated
            # here, so its forward runs without a graph; the augmenters' gradient is unchanged)
            self._set_aug_trainable(True)
            self.aug_optimizer.zero_grad(set_to_none=True)
            meta_loss = self.meta_objective(v1, v2, encoder_grad=False)
            meta_loss.backward()
            sum_gradients(self.aug_params)
            self.aug_optimizer.step()
            meta = float(meta_loss.detach())
        # official step 3 (bilevel: the encoder's one real step), augmenters frozen
        self._set_aug_trainable(False)
        loss, rec = self.encoder_objective(batch, targets, v1, v2)
        self.encoder_step(loss)
        self._set_aug_trainable(True)
        return {"loss": float(loss.detach()), "rec": float(rec.detach()), "meta": meta}

    def bilevel_augmenter_step(self, batch: SequenceBatch, targets: Tensor, v1: SequenceBatch,
                               v2: SequenceBatch) -> float:
        """One optimizer step on the augmenters along :meth:`hypergradient`."""
        self.aug_optimizer.zero_grad(set_to_none=True)
        outer, hyper = self.hypergradient(batch, targets, v1, v2)
        for p, g in zip(self.aug_params, hyper):
            p.grad = g
        self.aug_optimizer.step()
        return outer

    def hypergradient(self, batch: SequenceBatch, targets: Tensor, v1: SequenceBatch,
                      v2: SequenceBatch) -> tuple[float, list[Tensor]]:
        r"""The exact gradient with respect to the augmenters :math:`\phi` of

        .. math::
            F(\phi) = \mathcal{L}_{meta}(\theta'(\phi), \phi), \qquad
            \theta'(\phi) = \theta - \eta \nabla_\theta \mathcal{L}_{enc}(\theta, \phi)

        (second order: the gradient flows through :math:`\theta'`, a one-step unrolled bilevel
        problem as in MetAug, Li et al. 2022). The official code's first-order alternation drops
        the :math:`\partial\theta'/\partial\phi` term. :math:`\eta` is ``method.meta_step``.
        """
        # the fused CPU attention kernels have no double backward; the math kernel does
        from torch.nn.attention import SDPBackend, sdpa_kernel

        with sdpa_kernel(SDPBackend.MATH):
            return self._hypergradient(batch, targets, v1, v2)

    def _hypergradient(self, batch: SequenceBatch, targets: Tensor, v1: SequenceBatch,
                       v2: SequenceBatch) -> tuple[float, list[Tensor]]:
        names = [n for n, _ in self.model.named_parameters()]
        params = dict(self.model.named_parameters())
        n_items = self.model.n_items

        def enc(p: dict[str, Tensor], b: SequenceBatch) -> Tensor:
            return functional_call(self.model, p, (b.items.to(self.device), b.lengths.to(self.device)))

        def weights(p: dict[str, Tensor]) -> Tensor:
            return p["item_embedding.weight"][1 : n_items + 1]

        h = enc(params, batch)
        h1, h2 = enc(params, v1), enc(params, v2)
        inner = rec_loss(h, weights(params), targets) + self.loss(h1, h2, self.aug1(h1), self.aug2(h2))
        grads = torch.autograd.grad(inner, [params[n] for n in names], create_graph=True, allow_unused=True)
        step = self.cfg.method.meta_step
        unrolled = {n: params[n] - step * g if g is not None else params[n] for n, g in zip(names, grads)}
        g1, g2 = enc(unrolled, v1), enc(unrolled, v2)
        outer = self.loss.meta_objective(g1, g2, self.aug1(g1), self.aug2(g2))
        hyper = torch.autograd.grad(outer, self.aug_params)
        return float(outer.detach()), [g.detach() for g in hyper]

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "aug1": self.aug1.state_dict(),
                "aug2": self.aug2.state_dict(), "aug_optimizer": self.aug_optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.aug1.load_state_dict(state["aug1"])
        self.aug2.load_state_dict(state["aug2"])
        self.aug_optimizer.load_state_dict(state["aug_optimizer"])


METHODS: dict[str, type[Method]] = {"sasrec": Method, "cl4srec": CL4SRec, "duorec": DuoRec, "mclrec": MCLRec}


def build_method(cfg: SequenceConfig, model: SASRec, data: LeaveOneOut, generator: torch.Generator,
                 device: torch.device) -> Method:
    if cfg.method.name not in METHODS:
        raise ConfigError(f"method.name must be one of {sorted(METHODS)}, got {cfg.method.name!r}")
    return METHODS[cfg.method.name](cfg, model, data, generator, device)


