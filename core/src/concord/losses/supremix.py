"""SupReMix: supervised contrastive regression with mixed-up hard pairs."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import ContrastiveLoss
from concord.losses.contrast import ContrastTerms
from concord.validation import check_choice, check_embeddings, check_finite, check_positive

__all__ = ["SupReMix"]

NegativeWeight = Literal["none", "l1", "l2", "l1_inv", "l2_inv"]


class SupReMix(ContrastiveLoss):
    r"""SupReMix (Wu et al. 2023, `Mixup Your Own Pairs <https://arxiv.org/abs/2309.16633>`_):
    a supervised contrastive loss for regression whose contrast set is enlarged, at the embedding
    level, by *anchor-inclusive* mixtures (the anchor mixed with a sample of another label: hard
    negatives) and *anchor-exclusive* mixtures (two samples whose labels bracket the anchor's,
    mixed so that the mixture's label is the anchor's: hard positives).

    For the :math:`2N` views :math:`z_1 \dots z_{2N}` (view-major) with labels :math:`y`, anchor
    :math:`i` and the (detached) mixtures

    .. math::
        \tilde z^-_{ik} = \lambda_{ik}\, z_i + (1 - \lambda_{ik})\, z_k,\quad
        \tilde y^-_{ik} = \lambda_{ik} y_i + (1 - \lambda_{ik}) y_k,\quad
        \lambda_{ik} \sim \mathrm{Beta}(a, b),\qquad y_k \ne y_i;

    .. math::
        \tilde z^+_{ijk} = \alpha_{ijk}\, z_j + (1 - \alpha_{ijk})\, z_k,\quad
        \alpha_{ijk} = \frac{y_k - y_i}{y_k - y_j},\qquad
        y_j < y_i < y_k,\ y_i - y_j < n,\ y_k - y_i < n

    (so :math:`\tilde y^+_{ijk} = y_i`), the positives of :math:`i` are
    :math:`P_i = \{p \ne i : y_p = y_i\} \cup \{\tilde z^+_{ijk}\}`, the contrast set
    :math:`A_i` is every other view and every mixture of :math:`i`, and

    .. math::
        \mathcal{L} = \frac{1}{2N} \sum_i \frac{-1}{|P_i|} \sum_{p \in P_i}
            \log \frac{\exp(z_i \cdot z_p / \tau)}
                {\sum_{a \in A_i} w(|y_i - y_a|) \exp(z_i \cdot z_a / \tau)}

    with the distance weight :math:`w(d) = d + 1` (``negative_weight="l1_inv"``; a positive has
    :math:`d = 0`, weight 1). This is what the authors' training code computes (``mixing_func``
    of the IMDB-WIKI script, ``calculate_alpha_vectorized`` of its ``utils.py`` and
    ``SupConLoss_v2`` of ``supremix_loss.py``, read in copies held by a public code index -- the
    stored snapshot of ``github.com/yilei-wu/SupReMix`` has only its README; defaults
    ``--temperature 0.3``, ``--n 5``, ``--beta 0``, which that code maps to
    :math:`\mathrm{Beta}(2, 8)` although its help text says ``beta(5, 5)``, ``--use_weight
    True``, ``--distance L1_inv``). The paper's method section could not be read here (only its
    abstract), so no equation numbers are cited and no paper-versus-code difference could be
    checked: every choice above is the code's, and each is an argument.

    Mixtures are detached, as in the authors' code (they are built from a CPU copy and
    ``.detach()``-ed): the gradient reaches the anchor through :math:`z_i \cdot \tilde z`, not
    the mixed samples. Since a mixture is linear in the embeddings,
    :math:`z_i \cdot \tilde z^+_{ijk} = \alpha\, z_i \cdot \bar z_j + (1 - \alpha)\, z_i \cdot
    \bar z_k` (:math:`\bar z` detached), so no mixture vector is formed: the loss costs one
    :math:`2N \times 2N` product plus scalar work for the positive triples (the authors form up
    to ``4 bsz^2`` mixture vectors per anchor): anchors go in label order, in blocks, and a
    block only looks at the keys within the window of its labels, so with ``window`` the work
    is :math:`O(2N \cdot B^2)` for a band of :math:`B` keys (:math:`O((2N)^3)` with
    ``window=None``); each block is recomputed in the backward pass.

    Departures from the authors' code, each a fix of what the code did unintentionally:
    ``compress_mixtures`` keeps only the columns valid for *every* anchor (each anchor gets the
    smallest anchor's number of mixtures) and sorts the mixture labels separately from their
    mask (so weights land on the wrong mixtures); here every mixture of every anchor counts with
    its own label, as the earlier, commented-out version of that function did. Its ``L2_inv``
    mixture weight is :math:`(d + 1)^2 + 1`; here :math:`d^2 + 1` as for real pairs. One of the
    two released loss files divides by :math:`|P_i| + 1` (a NaN guard); here :math:`|P_i|`, and
    an anchor without positives (possible with one view) raises unless
    ``empty_positives="ignore"``. The code's sub-batch pooling (``--pool``, default 1) is not
    reproduced: call the loss per sub-batch for that. The Beta draws use the order statistic
    :math:`U_{(a)}` of :math:`a + b - 1` uniforms (exactly :math:`\mathrm{Beta}(a, b)` for
    integer :math:`a, b`, which all the authors' settings are), so they come from a seeded
    ``generator`` (default: torch's global one).

    Distributed (``gather=True``): keys and labels come from every process; the draws are made
    for the *global* anchors-by-keys matrix and sliced, so with equally seeded generators every
    rank reproduces the single-process loss and gradients of the global batch.

    Args:
        temperature: :math:`\tau` (default: ``0.3``, the authors' IMDB-WIKI default; their
            ``base_temperature`` equals it, so no extra factor).
        window: :math:`n`, how far (exclusive, in label units) the two samples of a positive
            mixture may lie from the anchor's label (default: ``5.0``; ``None``: no limit).
        beta: integer :math:`(a, b)` of the negative mixing coefficient (default: ``(2, 8)``).
        hard_negatives: add the anchor-inclusive mixtures (default: ``True``; the authors'
            ``mix_pos`` ablation is ``False``).
        hard_positives: add the anchor-exclusive mixtures (default: ``True``; ``mix_neg`` is
            ``False``).
        negative_weight: :math:`w(d)`: ``"l1_inv"`` :math:`d + 1` (default), ``"l2_inv"``
            :math:`d^2 + 1`, ``"l1"`` :math:`1 / (d + 1)`, ``"l2"`` :math:`1 / (d^2 + 1)`,
            ``"none"`` 1 (the authors' ``--use_weight False``).
        normalize_mixtures: L2-normalise each mixture before the dot product (default:
            ``False``, as the code; a mixture of unit vectors is shorter than 1).
        normalize, gather, block_size, empty_positives: see
            :class:`~concord.losses.base.ContrastiveLoss` (``block_size`` anchors per block;
            ``None``: as many as keep a block near :math:`2^{22}` triples).

    Shapes:
        features: ``(N, D)`` or ``(N, V, D)``; labels: ``(N,)`` (scalar targets). Output: scalar.
    """

    registry_name = "supremix"
    invariances = ("scale",)  # the draws are per (anchor, key) position: a shuffle mixes anew
    stochastic = True  # the negative mixing coefficients come from the seeded generator

    def __init__(
        self,
        *,
        temperature: float = 0.3,
        window: float | None = 5.0,
        beta: tuple[int, int] | list[int] = (2, 8),
        hard_negatives: bool = True,
        hard_positives: bool = True,
        negative_weight: NegativeWeight = "l1_inv",
        normalize_mixtures: bool = False,
        normalize: bool = True,
        gather: bool = False,
        block_size: int | None = None,
        empty_positives: Literal["error", "ignore"] = "error",
    ) -> None:
        super().__init__(
            temperature=temperature, learn_temperature=False, normalize=normalize, gather=gather,
            block_size=block_size, empty_positives=empty_positives,
        )
        self.window = None if window is None else check_positive("window", window)
        if (
            not isinstance(beta, (tuple, list)) or len(beta) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in beta)
        ):
            raise InputError(f"beta must be two integers >= 1 (a, b), got {beta!r}")
        self.beta = (int(beta[0]), int(beta[1]))
        self.hard_negatives = bool(hard_negatives)
        self.hard_positives = bool(hard_positives)
        self.negative_weight = check_choice(
            "negative_weight", negative_weight, ("none", "l1", "l2", "l1_inv", "l2_inv")
        )
        self.normalize_mixtures = bool(normalize_mixtures)

    # -- the random part ------------------------------------------------------------------
    def mixing_coefficients(
        self, rows: int, cols: int, generator: torch.Generator | None = None,
        keep: Tensor | None = None,
    ) -> Tensor:
        r""":math:`\lambda \sim \mathrm{Beta}(a, b)` of shape ``(rows, cols)`` (float32, on the
        generator's device): the ``a``-th smallest of ``a + b - 1`` uniforms. Drawn in row chunks
        of about ``2^24`` uniforms; with ``keep`` (row indices) only those rows are returned,
        but every row is drawn, so the generator advances as for the whole matrix."""
        a, b = self.beta
        dev = generator.device if generator is not None else torch.device("cpu")
        step = max(1, (1 << 24) // max(1, cols * (a + b - 1)))
        if keep is not None:
            sorted_keep, perm = torch.sort(keep.to(dev))
        out = []
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            u = torch.rand((r1 - r0, cols, a + b - 1), generator=generator, device=dev)
            lam = u.kthvalue(a, dim=-1).values
            if keep is not None:
                lam = lam[sorted_keep[(sorted_keep >= r0) & (sorted_keep < r1)] - r0]
            out.append(lam)
        lam = torch.cat(out)
        # rows back in the order asked for: lam holds keep[perm]
        return lam if keep is None else lam[torch.argsort(perm)]

    def weight(self, d: Tensor) -> Tensor:
        """The denominator weight :math:`w(d)` of a label distance ``d >= 0``."""
        if self.negative_weight == "l1_inv":
            return d + 1
        if self.negative_weight == "l2_inv":
            return d * d + 1
        if self.negative_weight == "l1":
            return 1 / (d + 1)
        if self.negative_weight == "l2":
            return 1 / (d * d + 1)
        return torch.ones_like(d)

    # -- forward --------------------------------------------------------------------------
    def forward(self, features: Tensor, labels: Tensor, generator: torch.Generator | None = None) -> Tensor:
        check_embeddings("features", features, ndim=(2, 3))
        if features.dim() == 2:
            features = features[:, None, :]
        n, v, _ = features.shape
        if not isinstance(labels, Tensor) or labels.shape != (n,):
            shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
            raise InputError(f"labels must have shape ({n},) (scalar targets), got {shape}")
        y = check_finite("labels", labels.detach().to(torch.float64))
        z = self.embed(features)
        if self.gather:
            gz = distributed.gather(z)
            keys3, offset = gz.tensor, gz.offset
            y_all = distributed.gather_no_grad(y).tensor
        else:
            keys3, offset, y_all = z, 0, y
        n_global = int(keys3.shape[0])
        dev = z.device
        # view-major rows: row v * N + i holds view v of sample i (the authors' torch.cat(unbind))
        keys = keys3.transpose(0, 1).reshape(v * n_global, -1)
        query = z.transpose(0, 1).reshape(v * n, -1)
        m = int(keys.shape[0])
        local = offset + torch.arange(n, device=dev)
        self_index = torch.cat([k * n_global + local for k in range(v)])
        yk = y_all.repeat(v).to(dev)
        yq = y.repeat(v).to(dev)
        lam = None
        if self.hard_negatives:
            lam = self.mixing_coefficients(m, m, generator, keep=self_index).to(dev, torch.float64)
        tau = float(self.temperature)
        rows = len(query)
        # anchors in label order, so a block's bracketing keys (within the window of its labels)
        # are a narrow band of the keys: the triples cost O(block x band^2), not O(block x M^2)
        order = torch.sort(yq, stable=True).indices
        key_order = torch.sort(yk, stable=True).indices
        blocks = self._blocks(yq[order], yk[key_order])
        loss = torch.zeros(rows, dtype=query.dtype, device=dev)
        ok = torch.zeros(rows, dtype=torch.bool, device=dev)
        parts, oks, idxs = [], [], []
        for i0, i1, (j0, j1), (k0, k1) in blocks:
            idx = order[i0:i1]
            args = (query[idx], keys, yq[idx], yk, self_index[idx], None if lam is None else lam[idx], tau,
                    key_order[j0:j1], key_order[k0:k1])
            if torch.is_grad_enabled() and (query.requires_grad or keys.requires_grad):
                loss_b, valid_b = checkpoint(self._block, *args, use_reentrant=False)
            else:
                loss_b, valid_b = self._block(*args)
            parts.append(loss_b)
            oks.append(valid_b)
            idxs.append(idx)
        flat = torch.cat(idxs)
        loss = loss.index_put((flat,), torch.cat(parts))
        ok = ok.index_put((flat,), torch.cat(oks))
        if self.empty_positives == "error" and not bool(ok.all()):
            raise InputError(
                f"{int((~ok).sum())} anchors have no positive (no other view or sample with the same "
                "label, no bracketing pair): pass empty_positives='ignore' to leave them out"
            )
        return self.reduce(ContrastTerms(torch.where(ok, loss, torch.zeros_like(loss)), ok))

    def _blocks(self, y_sorted: Tensor, ys: Tensor, budget: int = 1 << 22) -> list[tuple]:
        """Blocks of the label-sorted anchors ``y_sorted`` against the label-sorted keys ``ys``:
        ``(i0, i1, (j0, j1), (k0, k1))`` with ``j0:j1`` the sorted keys that can be a lower
        end ``y_j`` of a positive mixture for some anchor of the block (``y_i - n < y_j < y_i``)
        and ``k0:k1`` the upper ends. ``block_size`` anchors each if set; else greedy blocks of
        about ``budget`` scalars (anchors x keys, anchors x lower x upper ends), their labels
        spanning at most half the window so the bands stay narrow."""
        rows, m = int(y_sorted.shape[0]), int(ys.shape[0])
        w = self.window

        def ends(i0: int, i1: int) -> tuple[tuple[int, int], tuple[int, int]]:
            if not self.hard_positives:
                return (0, 0), (0, 0)
            lo_y, hi_y = y_sorted[i0:i0 + 1], y_sorted[i1 - 1:i1]
            j0 = 0 if w is None else int(torch.searchsorted(ys, lo_y - w, right=True))
            j1 = int(torch.searchsorted(ys, hi_y))
            k0 = int(torch.searchsorted(ys, lo_y, right=True))
            k1 = m if w is None else int(torch.searchsorted(ys, hi_y + w))
            return (j0, max(j0, j1)), (k0, max(k0, k1))

        if self.block_size is not None:
            starts = range(0, rows, self.block_size)
            return [(i0, min(rows, i0 + self.block_size), *ends(i0, min(rows, i0 + self.block_size)))
                    for i0 in starts]
        out, start, i = [], 0, 1
        yl = y_sorted.tolist()
        while start < rows:
            i = start + 1
            while i < rows:
                (j0, j1), (k0, k1) = ends(start, i + 1)
                cost = (i + 1 - start) * max((j1 - j0) * (k1 - k0), m)
                if cost > budget or (w is not None and yl[i] - yl[start] > w / 2):
                    break
                i += 1
            out.append((start, i, *ends(start, i)))
            start = i
        return out

    def _block(self, q: Tensor, keys: Tensor, yq: Tensor, yk: Tensor, self_idx: Tensor,
               lam: Tensor | None, tau: float, j_cols: Tensor, k_cols: Tensor) -> tuple[Tensor, Tensor]:
        b, m = int(q.shape[0]), int(keys.shape[0])
        dtype = q.dtype
        cols = torch.arange(m, device=q.device)
        is_self = self_idx[:, None] == cols[None, :]
        # real keys: every other view; positives share the label exactly (the authors' torch.eq)
        s = q @ keys.T  # (b, m), gradient to anchors and keys
        d_real = (yq[:, None] - yk[None, :]).abs()
        pos_real = (d_real == 0) & ~is_self
        w_real = self.weight(d_real).to(dtype)
        logit_parts = [torch.where(is_self, torch.full_like(s, float("-inf")), s / tau + w_real.log())]
        pos_sum = (s / tau * pos_real).sum(1)
        pos_count = pos_real.sum(1).to(dtype)
        # mixtures are detached: their dot products reach only the anchor
        sd = q @ keys.detach().T  # (b, m)
        kd = keys.detach()
        sq_norm = (kd * kd).sum(1) if self.normalize_mixtures else None  # |zbar_k|^2
        if lam is not None:
            other = d_real > 0  # y_k != y_i (the anchor's own views excluded)
            lam_t = lam.to(dtype)
            s_self = sd.gather(1, self_idx[:, None])  # z_i . zbar_i
            mix = lam_t * s_self + (1 - lam_t) * sd
            if sq_norm is not None:  # |lam zbar_i + (1 - lam) zbar_k|^2
                g_ik = kd[self_idx] @ kd.T
                sq = lam_t ** 2 * sq_norm[self_idx][:, None] + (1 - lam_t) ** 2 * sq_norm[None, :] \
                    + 2 * lam_t * (1 - lam_t) * g_ik
                mix = mix / sq.clamp_min(1e-24).sqrt()
            w_mix = self.weight((1 - lam) * d_real).to(dtype)
            logit_parts.append(torch.where(other, mix / tau + w_mix.log(), torch.full_like(mix, float("-inf"))))
        if self.hard_positives:
            # j_cols / k_cols: the keys that can be a lower / upper end for some anchor here
            yj, yk_up = yk[j_cols], yk[k_cols]
            below = yj[None, :] < yq[:, None]
            above = yk_up[None, :] > yq[:, None]
            if self.window is not None:
                below = below & (yq[:, None] - yj[None, :] < self.window)
                above = above & (yk_up[None, :] - yq[:, None] < self.window)
            triple = below[:, :, None] & above[:, None, :]  # (b, j, k)
            span = yk_up[None, None, :] - yj[None, :, None]  # y_k - y_j
            alpha = ((yk_up[None, None, :] - yq[:, None, None]) / span.clamp_min(1e-9)).clamp(0, 1)
            alpha = torch.where(triple, alpha, torch.zeros_like(alpha)).to(dtype)
            mix = alpha * sd[:, j_cols][:, :, None] + (1 - alpha) * sd[:, k_cols][:, None, :]
            if sq_norm is not None:  # |alpha zbar_j + (1 - alpha) zbar_k|^2
                gb = kd[j_cols] @ kd[k_cols].T
                sq = alpha ** 2 * sq_norm[j_cols][None, :, None] + (1 - alpha) ** 2 * sq_norm[k_cols][None, None, :] \
                    + 2 * alpha * (1 - alpha) * gb[None, :, :]
                mix = mix / sq.clamp_min(1e-24).sqrt()
            mix_logit = torch.where(triple, mix / tau, torch.full_like(mix, float("-inf")))
            logit_parts.append(mix_logit.reshape(b, -1))  # weight w(0) = 1: log 1 = 0
            pos_sum = pos_sum + torch.where(triple, mix / tau, torch.zeros_like(mix)).sum((1, 2))
            pos_count = pos_count + triple.sum((1, 2)).to(dtype)
        log_denominator = torch.logsumexp(torch.cat(logit_parts, dim=1), dim=1)
        ok = pos_count > 0
        loss = log_denominator - pos_sum / pos_count.clamp_min(1)
        return torch.where(ok, loss, torch.zeros_like(loss)), ok

    # -- contract -------------------------------------------------------------------------
    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        f = torch.randn(8, 2, 5, generator=generator)
        y = torch.tensor([20.0, 22.0, 23.0, 25.0, 22.0, 30.0, 27.0, 21.0])
        return [
            LossExample(init={}, args=(f, y), grad_args=(0,), scale_args=(0,)),
            LossExample(init={"block_size": 3, "window": None, "beta": (5, 5), "negative_weight": "l2"},
                        args=(f, y), grad_args=(0,), scale_args=(0,)),
            LossExample(init={"normalize_mixtures": True, "hard_negatives": False, "temperature": 0.5,
                              "empty_positives": "ignore"},
                        args=(f[:, 0], y.round()), grad_args=(0,), scale_args=(0,)),
            LossExample(init={"hard_positives": False, "negative_weight": "none"}, args=(f, y),
                        grad_args=(0,), scale_args=(0,)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        f = torch.randn(4, 2, 3, generator=generator)
        y = torch.tensor([0.0, 1.0, 2.0, 3.0])
        return [
            BadInput({"window": -1.0}, None, "window"),
            BadInput({"beta": (2.5, 8)}, None, "beta"),
            BadInput({"beta": (0, 8)}, None, "beta"),
            BadInput({"negative_weight": "cosine"}, None, "negative_weight"),
            BadInput({}, (f, y[:3]), r"labels must have shape \(4,\)"),
            BadInput({}, (f, torch.stack([y, y], 1)), "scalar targets"),
            BadInput({}, (f, y * float("nan")), "NaN"),
            BadInput({"window": 0.5, "hard_negatives": False}, (f[:, 0], y), "no positive",
                     why="one view, distinct labels, no pair within the window"),
        ]
