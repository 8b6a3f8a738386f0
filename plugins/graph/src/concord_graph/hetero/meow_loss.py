"""MEOW's contrastive loss: negatives weighted by how often k-means separates them."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.contrast import contrast_terms
from concord.validation import check_embeddings, check_positive, check_same_rows

__all__ = ["MEOWLoss", "cluster_weights"]


def cluster_weights(clusters: Tensor, i0: int, i1: int) -> Tensor:
    r""":math:`w_{ij} = \sum_{k=1}^{K} \mathbb{1}[c_k(i) \ne c_k(j)]` for rows ``i0:i1``
    (``clusters``: ``(N, K)``, the assignments of :math:`K` clusterings)."""
    block, everyone = clusters[i0:i1].to(torch.int32), clusters.to(torch.int32)
    w = torch.zeros(block.shape[0], everyone.shape[0], device=clusters.device)
    for k in range(clusters.shape[1]):
        w += (block[:, k, None] != everyone[None, :, k]).to(torch.float32)
    return w


class MEOWLoss(Loss):
    r"""The node-level contrast of MEOW (Yu & Li 2023, `Heterogeneous Graph Contrastive Learning
    with Meta-path Contexts and Weighted Negative Samples <https://arxiv.org/abs/2212.13847>`_,
    SDM 2023): anchors from the coarse view, keys from the fine-grained view, and each negative
    weighted by the number of the :math:`K` k-means clusterings (of the fine view, with
    different numbers of clusters) that put it in another cluster than the anchor,

    .. math::
        \mathcal{L} = -\frac{1}{N} \sum_i \log
            \frac{e^{\theta(a_i, k_i)/\tau}}{\sum_j w_{ij}\, e^{\theta(a_i, k_j)/\tau}}, \qquad
        w_{ij} = \sum_{k=1}^{K} \mathbb{1}[c_k(i) \ne c_k(j)],

    so likely false negatives (same cluster in every clustering, :math:`w_{ij} = 0`, the positive
    itself included) leave the denominator and hard ones that some clustering separates count
    less. As the authors' code (``InfoNce``); :math:`\theta` is the cosine similarity. Computed by
    the core's contrast engine with a weighted denominator (``contrast_terms(key_weight=...)``).

    Args:
        temperature: :math:`\tau` (default: ``0.4``, MEOW on ACM).
        block_size: anchors per checkpointed block (default: ``None``, one block).

    Shapes:
        anchor, key ``(N, D)``; clusters ``(N, K)`` integer assignments -> scalar.
    """

    registry_name = "graph.meow"
    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(self, *, temperature: float = 0.4, block_size: int | None = None) -> None:
        super().__init__()
        self.temperature = check_positive("temperature", temperature)
        if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1):
            raise InputError(f"block_size must be None or an integer >= 1, got {block_size!r}")
        self.block_size = block_size

    def forward(self, anchor: Tensor, key: Tensor, clusters: Tensor) -> Tensor:
        check_embeddings("anchor", anchor)
        check_embeddings("key", key)
        check_same_rows(anchor=anchor, key=key)
        if anchor.shape[1] != key.shape[1]:
            raise InputError(f"anchor and key dimensions differ: {tuple(anchor.shape)} vs {tuple(key.shape)}")
        if not isinstance(clusters, Tensor) or clusters.dim() != 2 or clusters.shape[0] != anchor.shape[0]:
            shape = tuple(clusters.shape) if isinstance(clusters, Tensor) else type(clusters).__name__
            raise InputError(f"clusters must be an (N, K) tensor of assignments with N = {anchor.shape[0]}, got {shape}")
        if clusters.is_floating_point():
            raise InputError(f"clusters must hold integer cluster ids, got {clusters.dtype}")
        a = nn.functional.normalize(anchor.float(), dim=-1)
        k = nn.functional.normalize(key.float(), dim=-1)
        ids = clusters.to(a.device)  # the weights are computed where the embeddings are
        terms = contrast_terms(
            a, k, self.temperature, positive_index=torch.arange(a.shape[0], device=a.device),
            block_size=self.block_size, key_weight=lambda i0, i1, _a, _k: cluster_weights(ids, i0, i1),
        )
        return terms.loss.mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        a = torch.randn(10, 5, generator=generator)
        k = a + 0.5 * torch.randn(10, 5, generator=generator)
        c = torch.stack([torch.arange(10) % 3, torch.arange(10) % 4], dim=1)
        return [
            LossExample(init={}, args=(a, k, c), grad_args=(0, 1), batch_args=(0, 1, 2), scale_args=(0, 1)),
            LossExample(init={"temperature": 0.2, "block_size": 3}, args=(a, k, c), grad_args=(0, 1),
                        batch_args=(0, 1, 2), scale_args=(0, 1)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        a = torch.randn(4, 3, generator=generator)
        c = torch.zeros(4, 2, dtype=torch.long)
        return [
            BadInput({"temperature": 0.0}, None, "temperature"),
            BadInput({}, (a, a[:3], c), "batch sizes differ"),
            BadInput({}, (a, a, c[:3]), "clusters must be"),
            BadInput({}, (a, a, c.float()), "integer cluster ids"),
            BadInput({}, (a, a, c), "no negative", why="one cluster holds every node"),
        ]
