"""SwAV: swapped prediction of Sinkhorn codes over prototypes, with multi-crop."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.sinkhorn import sinkhorn_knopp
from concord.queue import MemoryQueue
from concord.validation import check_embeddings, check_positive

__all__ = ["SwAV"]


def _count(name: str, value: int, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


class SwAV(Loss):
    r"""SwAV (Caron et al. 2020, `Unsupervised Learning of Visual Features by Contrasting Cluster
    Assignments <https://arxiv.org/abs/2006.09882>`_, Sec. 3.1): predict the code of one view
    from another view's embedding, codes being Sinkhorn-Knopp equipartitions over learnable
    prototypes :math:`C = [c_1, \dots, c_K]`:

    .. math::
        \ell(z_t, q_s) = -\sum_k q_s^{(k)} \log p_t^{(k)},\qquad
        p_t^{(k)} = \frac{\exp(z_t^\top c_k / \tau)}{\sum_{k'} \exp(z_t^\top c_{k'} / \tau)},

    .. math::
        Q^* = \operatorname{Diag}(u) \exp\!\left(\frac{C^\top Z}{\varepsilon}\right)
              \operatorname{Diag}(v)
        \quad \text{(3 Sinkhorn iterations, } \varepsilon = 0.05\text{)}.

    With multi-crop, codes are computed only for the first ``assign_views`` views (the
    high-resolution crops: the authors' ``crops_for_assign``), each predicted from every *other*
    view; as in the authors' code each code's sub-loss is averaged over the :math:`V - 1` views
    predicting it and the total over the coded views:

    .. math::
        \mathcal{L} = \frac{1}{|A|} \sum_{s \in A} \frac{1}{V - 1} \sum_{t \ne s}
            \frac{1}{N} \sum_{i=1}^{N} \ell(z_{i,t}, q_{i,s})

    The prototypes are a parameter of this loss (``prototypes``, ``(K, D)``), initialised as
    the authors' bias-free ``nn.Linear``. As in the authors' training loop, every training-mode
    call first renormalises them to unit length in place (``normalize_prototypes``), and for the
    first ``freeze_prototypes_iters`` training-mode calls the prototypes receive no gradient
    (``iteration`` counts those calls; it is a buffer, so it resumes with a checkpoint).

    Sinkhorn runs in the log domain in float32 (:func:`concord.losses.sinkhorn.sinkhorn_knopp`):
    the same codes as the authors' algorithm, finite for half-precision and unnormalised
    features, where exponentiating first overflows (tested). With ``gather=True`` its row sums
    run over every process's samples (the authors' ``distributed_sinkhorn``) and the loss is the
    mean over the global batch (:mod:`concord.distributed`).

    Queue (``queue_size > 0``): for each coded view a :class:`~concord.queue.MemoryQueue` of
    past (normalised, detached) embeddings; once full, its scores against the current
    prototypes join the Sinkhorn problem as extra samples (the authors use it from epoch 15 of
    their runs: pass ``use_queue=False`` until then). The authors keep one queue per process and
    sum over all of them; the queue here is gathered on enqueue and identical on every process,
    holding those same keys (its columns enter the sums once).

    Args:
        dim: embedding dimension :math:`D` (the prototypes' width).
        n_prototypes: :math:`K` (default: ``3000``, the authors' ImageNet value).
        temperature: :math:`\tau` of the prediction softmax (default: ``0.1``).
        epsilon: :math:`\varepsilon` of Sinkhorn (default: ``0.05``).
        sinkhorn_iterations: (default: ``3``).
        assign_views: how many leading views get codes (default: ``2``).
        queue_size: keys per coded view in the queue, over all processes (default: ``0``: none;
            the authors use 3840 total on ImageNet).
        freeze_prototypes_iters: training-mode calls without prototype gradients (default:
            ``313``, the authors' value).
        normalize: L2-normalise the embeddings (default: ``True``; the authors' model does).
        normalize_prototypes: renormalise the prototypes at each training-mode call (default:
            ``True``).
        gather: Sinkhorn sums and the mean over every process (default: ``False``).

    Shapes:
        features: ``(N, V, D)``, ``V >= 2`` views of ``N`` samples, the coded views first.
        Output: scalar.
    """

    registry_name = "swav"
    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(
        self,
        *,
        dim: int,
        n_prototypes: int = 3000,
        temperature: float = 0.1,
        epsilon: float = 0.05,
        sinkhorn_iterations: int = 3,
        assign_views: int = 2,
        queue_size: int = 0,
        freeze_prototypes_iters: int = 313,
        normalize: bool = True,
        normalize_prototypes: bool = True,
        gather: bool = False,
    ) -> None:
        super().__init__()
        self.dim = _count("dim", dim, minimum=1)
        self.n_prototypes = _count("n_prototypes", n_prototypes, minimum=2)
        self.temperature = check_positive("temperature", temperature)
        self.epsilon = check_positive("epsilon", epsilon)
        self.sinkhorn_iterations = _count("sinkhorn_iterations", sinkhorn_iterations, minimum=1)
        self.assign_views = _count("assign_views", assign_views, minimum=1)
        self.queue_size = _count("queue_size", queue_size, minimum=0)
        self.freeze_prototypes_iters = _count(
            "freeze_prototypes_iters", freeze_prototypes_iters, minimum=0
        )
        self.normalize = bool(normalize)
        self.normalize_prototypes = bool(normalize_prototypes)
        self.gather = bool(gather)
        self.prototypes = nn.Parameter(torch.empty(n_prototypes, dim))
        self.register_buffer("iteration", torch.zeros((), dtype=torch.long))
        self.queues = nn.ModuleList(
            MemoryQueue(size=queue_size, dim=dim, gather=self.gather)
            for _ in range(assign_views if queue_size > 0 else 0)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The authors' prototypes: ``nn.Linear(dim, K, bias=False)``'s initialisation."""
        nn.init.kaiming_uniform_(self.prototypes, a=math.sqrt(5))

    def forward(self, features: Tensor, *, use_queue: bool = True) -> Tensor:
        check_embeddings("features", features, ndim=3)
        n, v, d = features.shape
        if d != self.dim:
            raise InputError(f"features have dimension {d}, the prototypes {self.dim}")
        if v < 2:
            raise InputError(f"SwAV needs at least 2 views per sample, got {v} (shape {tuple(features.shape)})")
        if self.assign_views > v:
            raise InputError(f"assign_views={self.assign_views} but the batch has only {v} views")
        # half precision is computed in float32; float64 (features or prototypes) stays float64
        dtype = torch.promote_types(torch.float32, torch.promote_types(features.dtype, self.prototypes.dtype))
        z = features.to(dtype)
        if self.normalize:
            z = nn.functional.normalize(z, dim=-1)
        if self.training and self.normalize_prototypes:
            with torch.no_grad():
                self.prototypes.copy_(nn.functional.normalize(self.prototypes, dim=1))
        frozen = self.training and int(self.iteration) < self.freeze_prototypes_iters
        c = (self.prototypes.detach() if frozen else self.prototypes).to(dtype)
        scores = z @ c.T  # (N, V, K)
        log_p = torch.log_softmax(scores / self.temperature, dim=-1)
        per_sample = z.new_zeros(n)
        for s in range(self.assign_views):
            codes = self._codes(scores[:, s], z[:, s], s, use_queue)
            others = [t for t in range(v) if t != s]
            cross = -(codes[:, None, :] * log_p[:, others]).sum(dim=-1)  # (N, V - 1)
            per_sample = per_sample + cross.mean(dim=1)
        per_sample = per_sample / self.assign_views
        if self.training:
            self.iteration.add_(1)
        if self.gather:
            return distributed.global_mean(per_sample.sum(), n)
        return per_sample.mean()

    @torch.no_grad()
    def _codes(self, scores: Tensor, z: Tensor, view: int, use_queue: bool) -> Tensor:
        shared = None
        if self.queue_size > 0 and use_queue:
            queue = self.queues[view]
            if len(queue) == queue.size:  # the authors use a queue once it is full
                shared = queue.keys().to(z) @ self.prototypes.detach().T
            if self.training:
                queue.enqueue(z.detach())  # after scoring: the batch is not its own extra sample
        return sinkhorn_knopp(
            scores, epsilon=self.epsilon, iterations=self.sinkhorn_iterations, shared=shared,
            gather=self.gather,
        )

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        f = torch.randn(6, 2, 5, generator=generator)
        multi = torch.randn(5, 4, 3, generator=generator)
        return [
            LossExample(init={"dim": 5, "n_prototypes": 7, "freeze_prototypes_iters": 0}, args=(f,)),
            LossExample(
                init={"dim": 3, "n_prototypes": 4, "assign_views": 2, "temperature": 0.5,
                      "freeze_prototypes_iters": 0},
                args=(multi,),
            ),
            LossExample(
                init={"dim": 5, "n_prototypes": 3, "assign_views": 1, "epsilon": 0.1,
                      "sinkhorn_iterations": 5, "queue_size": 4, "freeze_prototypes_iters": 0},
                args=(f,),
            ),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        f = torch.randn(4, 2, 3, generator=generator)
        return [
            BadInput({"dim": 0}, None, "dim must be"),
            BadInput({"dim": 3, "n_prototypes": 1}, None, "n_prototypes"),
            BadInput({"dim": 3, "epsilon": 0.0}, None, "epsilon"),
            BadInput({"dim": 3, "queue_size": -1}, None, "queue_size"),
            BadInput({"dim": 4}, (f,), "dimension 3"),
            BadInput({"dim": 3}, (f[:, :1],), "at least 2 views"),
            BadInput({"dim": 3, "assign_views": 3}, (f,), "only 2 views"),
            BadInput({"dim": 3}, (f[:, 0],), "3-D"),
        ]
