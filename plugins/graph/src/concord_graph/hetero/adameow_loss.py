"""AdaMEOW's contrastive loss: negative weights learned by a small network."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.contrast import contrast_terms
from concord.validation import check_embeddings, check_positive, check_same_rows

__all__ = ["AdaMEOWLoss"]


class AdaMEOWLoss(Loss):
    r"""The contrast of AdaMEOW (Yu, Ge, Li & Zhou 2024, `Heterogeneous Graph Contrastive Learning
    with Meta-path Contexts and Adaptively Weighted Negative Samples
    <https://ieeexplore.ieee.org/document/10487103>`_, IEEE TKDE): the weight of key :math:`j` for anchor
    :math:`i` is learned,

    .. math::
        w_{ij} = \operatorname{sigmoid}\!\left(W_2 \tanh(W_1 (a_i + k_j) + b_1) + b_2\right), \qquad
        \mathcal{L} = -\frac{1}{N} \sum_i \log \frac{e^{\theta(a_i, k_i)/\tau}}
            {\sum_j \tilde{w}_{ij}\, e^{\theta(a_i, k_j)/\tau}},

    with :math:`a, k` L2-normalised (the authors' ``weight_InfoNce``: anchors from the fine view,
    keys from the coarse view; hidden width 16).

    Departure: :math:`\tilde{w}_{ij} = w_{ij} / \frac{1}{N}\sum_{j'} w_{ij'}` (weights normalised to
    mean 1 per anchor). With the raw sigmoid weights the loss decreases without bound by driving
    every weight to 0, which the authors' code avoids only through a small learning rate and
    early stopping; normalised, the network can only redistribute weight between negatives.
    Computed in blocks: memory ``O(block x N x 16)``, not the authors' ``N^2 x D`` pair tensor.

    Args:
        channels: :math:`D`, the embedding size.
        hidden_channels: width of the weight network (default: ``16``).
        temperature: :math:`\tau` (default: ``1.0``, AdaMEOW on ACM).
        block_size: anchors per checkpointed block (default: ``256``).

    Shapes:
        anchor, key ``(N, D)`` -> scalar.
    """

    registry_name = "graph.adameow"
    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(self, *, channels: int, hidden_channels: int = 16, temperature: float = 1.0,
                 block_size: int | None = 256) -> None:
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise InputError(f"channels must be an integer >= 1, got {channels!r}")
        if isinstance(hidden_channels, bool) or not isinstance(hidden_channels, int) or hidden_channels < 1:
            raise InputError(f"hidden_channels must be an integer >= 1, got {hidden_channels!r}")
        self.channels = channels
        self.hidden_channels = hidden_channels
        self.temperature = check_positive("temperature", temperature)
        if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1):
            raise InputError(f"block_size must be None or an integer >= 1, got {block_size!r}")
        self.block_size = block_size
        self.lin1 = nn.Linear(channels, hidden_channels)
        self.lin2 = nn.Linear(hidden_channels, 1)

    def pair_weights(self, anchor: Tensor, key: Tensor) -> Tensor:
        """:math:`w_{ij}` for normalised anchors and keys, ``(N_a, N_k)`` (small inputs only)."""
        return torch.sigmoid(self.lin2(torch.tanh(self.lin1(anchor[:, None, :] + key[None, :, :])))).squeeze(-1)

    def forward(self, anchor: Tensor, key: Tensor) -> Tensor:
        check_embeddings("anchor", anchor)
        check_embeddings("key", key)
        check_same_rows(anchor=anchor, key=key)
        if anchor.shape[1] != self.channels or key.shape[1] != self.channels:
            raise InputError(f"anchor and key must have {self.channels} channels, got "
                             f"{tuple(anchor.shape)} and {tuple(key.shape)}")
        a = nn.functional.normalize(anchor.float(), dim=-1)
        k = nn.functional.normalize(key.float(), dim=-1)
        key_part = k @ self.lin1.weight.t()  # W1 (a_i + k_j) + b1 = W1 a_i + W1 k_j + b1

        def weights(i0: int, i1: int, a_blk: Tensor, _k: Tensor) -> Tensor:
            hidden = torch.tanh((a_blk @ self.lin1.weight.t() + self.lin1.bias)[:, None, :] + key_part[None, :, :])
            w = torch.sigmoid(self.lin2(hidden).squeeze(-1))
            return w / w.mean(dim=1, keepdim=True)

        rows = torch.arange(a.shape[0], device=a.device)
        return contrast_terms(a, k, self.temperature, positive_index=rows, block_size=self.block_size,
                              key_weight=weights).loss.mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        a = torch.randn(9, 6, generator=generator)
        k = a + 0.5 * torch.randn(9, 6, generator=generator)
        return [
            LossExample(init={"channels": 6}, args=(a, k)),
            LossExample(init={"channels": 6, "temperature": 0.5, "block_size": 4}, args=(a, k)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        a = torch.randn(4, 6, generator=generator)
        return [
            BadInput({"channels": 0}, None, "channels"),
            BadInput({"channels": 6, "temperature": -1.0}, None, "temperature"),
            BadInput({"channels": 6}, (a, a[:2]), "batch sizes differ"),
            BadInput({"channels": 5}, (a, a), "5 channels"),
        ]
