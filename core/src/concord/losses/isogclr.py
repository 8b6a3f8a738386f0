"""iSogCLR: global contrastive loss with individualised, learned temperatures."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.row_blocks import check_block_size, row_blocks
from concord.losses.two_view import check_two_views
from concord.validation import check_positive, check_probability

__all__ = ["ISogCLR"]


class ISogCLR(Loss):
    r"""iSogCLR (Qiu et al. 2023, `Not All Semantics are Created Equal: Contrastive
    Self-supervised Learning with Automatic Temperature Individualization
    <https://arxiv.org/abs/2305.11965>`_, ICML 2023): the robust global contrastive objective
    with one temperature :math:`\tau_i` per training sample (Eq. 6),

    .. math::
        F(\mathbf{w}, \boldsymbol\tau) = \frac{1}{n} \sum_{x_i \in D}
            \tau_i \log \mathbb{E}_{z \in S_i^-} \exp\!\Big(\frac{h_i(z)}{\tau_i}\Big)
            + \tau_i \rho,\qquad
        h_i(z) = E(\mathcal{A}(x_i))^\top E(z) - E(\mathcal{A}(x_i))^\top E(\mathcal{A}'(x_i)),

    optimised by the paper's Algorithm 1 (SogCLR's estimator, Yuan et al. 2022, plus a
    temperature step): for each anchor of the batch, with :math:`g_i` the batch estimate of the
    inner mean over its :math:`2(B-1)` negatives,

    .. math::
        u_i \leftarrow (1 - \gamma) u_i + \gamma g_i,\qquad
        G(\mathbf{w}) = \frac{1}{|B|} \sum_i \frac{\tau_i}{u_i} \nabla_{\mathbf{w}} g_i,

    .. math::
        \nabla_{\tau_i} = \log u_i + \rho - \frac{1}{u_i} \mathbb{E}_{z \in S_i^-}
            \exp\!\Big(\frac{h_i(z)}{\tau_i}\Big) \frac{h_i(z)}{\tau_i},\qquad
        m_i \leftarrow (1 - \beta) m_i + \beta \nabla_{\tau_i},\qquad
        \tau_i \leftarrow \Pi_{[\tau_{min}, \tau_{max}]}(\tau_i - \eta\, m_i).

    The per-sample state (:math:`u`, :math:`\tau`, :math:`m`, and whether a sample was seen)
    lives in buffers of ``n_samples`` entries, indexed by the ``index`` of each row: it is saved
    in ``state_dict`` and a run resumes exactly (tested). It is updated in training mode only;
    an evaluation call reads it. ``learn_temperatures=False`` keeps :math:`\tau_i` fixed:
    SogCLR.

    Both views are anchors (``z1`` against ``[z2; z1]``, ``z2`` against ``[z1; z2]``, the
    self-pair left out); each view's :math:`u` estimate weights its own gradient, the stored
    :math:`u_i` and the temperature step average the two views, as LibAUC's ``GCLoss_v1`` (the
    authors' library) does. The returned value is the batch estimate of the objective,
    :math:`\frac{1}{2B}\sum \tau_i(\log u_i + \rho)` over the anchors (in concord's convention
    a mean over the :math:`2B` anchors: LibAUC sums the two views), and its gradient is the
    estimator :math:`G` above -- the value is not what the gradient differentiates.

    Choices the paper leaves open, and departures:

    * a sample's first visit sets :math:`u_i = g_i` (:math:`\gamma = 1` for that sample);
      LibAUC decides per batch (:math:`\gamma = 1` only while every sample of the batch is new);
    * ``positive_shift=True`` uses the paper's :math:`h_i` (the positive similarity
      subtracted); ``False`` is LibAUC's implementation, which exponentiates
      :math:`E(\mathcal{A}(x_i))^\top E(z) / \tau_i` and adds the positive's gradient with
      weight 1 -- the same estimator when :math:`u_i` is exact, a different one when it lags;
    * with ``gather=True`` the negatives and the normaliser :math:`2(B-1)` are those of the
      global batch, and every process writes the whole global batch's state, so the buffers stay
      identical on every process (tested against one process).

    Args:
        n_samples: size of the training set (``index`` values lie in ``[0, n_samples)``).
        temperature: initial :math:`\tau_i` (default: ``0.1``, LibAUC's).
        tau_min, tau_max: the projection interval (default: ``0.05``, ``0.7``).
        rho: :math:`\rho` (default: ``0.3``; the paper recommends 0.1-0.5 for images).
        eta: temperature step size :math:`\eta` (default: ``0.01``).
        beta: temperature momentum :math:`\beta` (default: ``0.9``, weight of the new gradient).
        gamma: moving-average weight :math:`\gamma` of the new estimate (default: ``0.9``).
        learn_temperatures: update :math:`\tau_i` (default: ``True``; ``False``: SogCLR).
        positive_shift: see above (default: ``True``).
        gather: negatives and state over every process (default: ``False``).
        block_size: anchors per checkpointed block (default: ``None``).

    Shapes:
        z1, z2: ``(B, D)``; index: ``(B,)`` distinct integers. Output: scalar.
    """

    registry_name = "isogclr"
    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(
        self,
        *,
        n_samples: int,
        temperature: float = 0.1,
        tau_min: float = 0.05,
        tau_max: float = 0.7,
        rho: float = 0.3,
        eta: float = 0.01,
        beta: float = 0.9,
        gamma: float = 0.9,
        learn_temperatures: bool = True,
        positive_shift: bool = True,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__()
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
            raise InputError(f"n_samples must be an integer >= 2, got {n_samples!r}")
        self.n_samples = n_samples
        self.temperature = check_positive("temperature", temperature)
        self.tau_min = check_positive("tau_min", tau_min)
        self.tau_max = check_positive("tau_max", tau_max)
        if not self.tau_min <= self.temperature <= self.tau_max:
            raise InputError(
                f"need tau_min <= temperature <= tau_max, got {tau_min} <= {temperature} <= {tau_max}"
            )
        self.rho = check_positive("rho", rho, allow_zero=True)
        self.eta = check_positive("eta", eta, allow_zero=True)
        self.beta = check_probability("beta", beta, upper_inclusive=True)
        self.gamma = check_probability("gamma", gamma, upper_inclusive=True)
        if self.gamma == 0:
            raise InputError("gamma must be > 0 (gamma = 0 would never update u)")
        self.learn_temperatures = bool(learn_temperatures)
        self.positive_shift = bool(positive_shift)
        self.gather = bool(gather)
        self.block_size = check_block_size(block_size)
        self.register_buffer("u", torch.zeros(n_samples))
        self.register_buffer("tau", torch.full((n_samples,), self.temperature))
        self.register_buffer("tau_momentum", torch.zeros(n_samples))
        self.register_buffer("seen", torch.zeros(n_samples, dtype=torch.bool))

    def forward(self, z1: Tensor, z2: Tensor, index: Tensor) -> Tensor:
        check_two_views(z1, z2)
        index = self._check_index(index, int(z1.shape[0]))
        dtype = torch.promote_types(torch.float32, z1.dtype)
        e1 = nn.functional.normalize(z1.to(dtype), dim=1)
        e2 = nn.functional.normalize(z2.to(dtype), dim=1)
        if self.gather:
            g1, g2 = distributed.gather(e1), distributed.gather(e2)
            k1, k2, offset = g1.tensor, g2.tensor, g1.offset
            all_index = distributed.gather_no_grad(index).tensor
        else:
            k1, k2, offset, all_index = e1, e2, 0, index
        n_global = int(k1.shape[0])
        if n_global < 2:
            raise InputError(f"iSogCLR needs at least 2 samples in the (global) batch, got {n_global}")
        if int(torch.unique(all_index).numel()) != n_global:
            raise InputError("index holds a sample twice in the (global) batch; each sample once")
        tau = self.tau[index].to(dtype)
        u_old = self.u[index].to(dtype)
        gamma = torch.where(self.seen[index], torch.full_like(u_old, self.gamma), torch.ones_like(u_old))
        views = [self._view(e1, torch.cat([k2, k1]), tau, offset, n_global),
                 self._view(e2, torch.cat([k1, k2]), tau, offset, n_global)]
        per_anchor, u_new, tau_grad = [], [], []
        for g, t, surrogate, s_pos in views:
            u = (1 - gamma) * u_old + gamma * g
            u_safe = u.clamp_min(torch.finfo(u.dtype).tiny)
            direction = surrogate / u_safe
            value = tau * (torch.log(u_safe) + self.rho)
            if not self.positive_shift:  # LibAUC: exp(s / tau) tracked, positive's gradient added
                direction = direction - s_pos
                value = value - s_pos.detach()
            per_anchor.append(value + (direction - direction.detach()))
            u_new.append(u)
            tau_grad.append(torch.log(u_safe) + self.rho - t / u_safe)
        if self.training:
            self._update(all_index, index, (u_new[0] + u_new[1]) / 2, (tau_grad[0] + tau_grad[1]) / 2)
        total = per_anchor[0].sum() + per_anchor[1].sum()
        if self.gather:
            return distributed.global_mean(total, 2 * int(z1.shape[0]))
        return total / (2 * int(z1.shape[0]))

    def _view(self, anchors: Tensor, keys: Tensor, tau: Tensor, offset: int, n_global: int
              ) -> tuple[Tensor, ...]:
        """Per anchor: g (inner mean), E[exp(h/tau) h/tau], the surrogate E[w h] with the weights
        w = exp(h / tau) detached, and the positive similarity; in checkpointed blocks."""
        n_neg = 2 * (n_global - 1)
        shift = self.positive_shift

        def block(i0: int, i1: int, a: Tensor, k: Tensor) -> tuple[Tensor, ...]:
            rows = torch.arange(i1 - i0, device=a.device)
            pos_col = offset + i0 + rows
            s = a @ k.T  # (b, 2N): [other view; same view]
            s_pos = s[rows, pos_col]
            h = s - s_pos[:, None] if shift else s
            tau_b = tau[i0:i1, None]
            with torch.no_grad():
                w = torch.exp(h.detach() / tau_b)
                w[rows, pos_col] = 0  # the positive
                w[rows, n_global + pos_col] = 0  # the anchor itself
                g = w.sum(dim=1) / n_neg
                t = (w * h.detach() / tau_b).sum(dim=1) / n_neg
            return g, t, (w * h).sum(dim=1) / n_neg, s_pos

        return row_blocks(block, anchors, keys, block_size=self.block_size)

    @torch.no_grad()
    def _update(self, all_index: Tensor, index: Tensor, u: Tensor, tau_grad: Tensor) -> None:
        if self.gather:
            u = distributed.gather_no_grad(u.detach()).tensor
            tau_grad = distributed.gather_no_grad(tau_grad.detach()).tensor
        idx = all_index.to(self.u.device)
        self.u[idx] = u.detach().to(self.u.dtype)
        self.seen[idx] = True
        if self.learn_temperatures:
            m = (1 - self.beta) * self.tau_momentum[idx] + self.beta * tau_grad.to(self.u.dtype)
            self.tau_momentum[idx] = m
            self.tau[idx] = (self.tau[idx] - self.eta * m).clamp(self.tau_min, self.tau_max)

    def _check_index(self, index: Tensor, n: int) -> Tensor:
        if not isinstance(index, Tensor) or index.dim() != 1 or index.shape[0] != n:
            shape = tuple(index.shape) if isinstance(index, Tensor) else type(index).__name__
            raise InputError(f"index must be a 1-D tensor of {n} sample indices, got {shape}")
        if index.is_floating_point() or index.dtype == torch.bool:
            raise InputError(f"index must hold integers, got {index.dtype}")
        if n and (int(index.min()) < 0 or int(index.max()) >= self.n_samples):
            raise InputError(
                f"index values must lie in [0, {self.n_samples}) (n_samples), got "
                f"[{int(index.min())}, {int(index.max())}]"
            )
        return index.to(self.u.device, torch.long)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z1 = torch.randn(6, 5, generator=generator)
        z2 = z1 + 0.4 * torch.randn(6, 5, generator=generator)
        idx = torch.tensor([3, 0, 7, 9, 1, 4])
        return [
            LossExample(init={"n_samples": 10}, args=(z1, z2, idx)),
            LossExample(init={"n_samples": 10, "positive_shift": False, "block_size": 4},
                        args=(z1, z2, idx)),
            LossExample(init={"n_samples": 12, "learn_temperatures": False, "temperature": 0.3},
                        args=(z1, z2, idx)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"n_samples": 1}, None, "n_samples"),
            BadInput({"n_samples": 10, "temperature": 0.01}, None, "tau_min <= temperature"),
            BadInput({"n_samples": 10, "gamma": 0.0}, None, "gamma"),
            BadInput({"n_samples": 10, "beta": 1.5}, None, "beta"),
            BadInput({"n_samples": 10}, (z, z, torch.tensor([0, 1, 2])), "index must be a 1-D"),
            BadInput({"n_samples": 10}, (z, z, torch.tensor([0, 1, 2, 10])), r"\[0, 10\)"),
            BadInput({"n_samples": 10}, (z, z, torch.tensor([0, 1, 1, 2])), "twice"),
            BadInput({"n_samples": 10}, (z, z, torch.tensor([0.0, 1.0, 2.0, 3.0])), "integers"),
            BadInput({"n_samples": 10}, (z, z[:2], torch.tensor([0, 1, 2, 3])), "batch sizes differ"),
        ]
