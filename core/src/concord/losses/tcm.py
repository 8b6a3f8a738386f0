"""Threshold-Consistent Margin loss (TCM)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.losses.row_blocks import check_block_size, row_blocks
from concord.samplers.labels import LabelsSampler
from concord.validation import check_embeddings, check_labels, check_positive

__all__ = ["TCM"]


class TCM(Loss):
    r"""Threshold-Consistent Margin loss (Zhang et al. 2024, `Threshold-Consistent Margin Loss for
    Open-World Deep Metric Learning <https://arxiv.org/abs/2307.04047>`_, ICLR 2024): a
    regulariser, added to a base metric-learning loss, that penalises only the *hard* pairs --
    positives whose cosine similarity falls below :math:`m^+`, negatives whose similarity rises
    above :math:`m^-` -- so that one distance threshold fits every class:

    .. math::
        \mathcal{L}_{TCM} = \lambda^+ \frac{\sum_{i,j} (m^+ - s_{ij})\,
                \mathbb{1}[y_i = y_j]\, \mathbb{1}[s_{ij} \le m^+]}
            {\sum_{i,j} \mathbb{1}[y_i = y_j]\, \mathbb{1}[s_{ij} \le m^+]}
          + \lambda^- \frac{\sum_{i,j} (s_{ij} - m^-)\, \mathbb{1}[y_i \ne y_j]\,
                \mathbb{1}[s_{ij} \ge m^-]}
            {\sum_{i,j} \mathbb{1}[y_i \ne y_j]\, \mathbb{1}[s_{ij} \ge m^-]}

    over the ordered pairs :math:`i \ne j` of the batch, :math:`s_{ij}` the cosine similarity.
    A part whose set of hard pairs is empty is 0. Equal to pytorch-metric-learning's
    ``ThresholdConsistentMarginLoss`` on the same embeddings and labels (tested). The positive
    and negative masks come from the core's ``labels`` sampler, one query block at a time.

    With ``gather=True`` the pairs are those of the global batch (local queries against every
    process's embeddings); both means and their counts run over all processes
    (:mod:`concord.distributed`).

    Args:
        margin_positive: :math:`m^+` in ``[-1, 1]`` (default: ``0.9``, as the paper).
        margin_negative: :math:`m^-` in ``[-1, 1]`` (default: ``0.5``, as the paper).
        lambda_positive: :math:`\lambda^+ \ge 0` (default: ``1.0``).
        lambda_negative: :math:`\lambda^- \ge 0` (default: ``1.0``).
        gather: pairs over every process's batch (default: ``False``).
        block_size: query rows per checkpointed block (default: ``None``, one block).

    Shapes:
        embeddings: ``(N, D)``; labels: ``(N,)`` integers. Output: scalar.
    """

    registry_name = "tcm"
    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(
        self,
        *,
        margin_positive: float = 0.9,
        margin_negative: float = 0.5,
        lambda_positive: float = 1.0,
        lambda_negative: float = 1.0,
        gather: bool = False,
        block_size: int | None = None,
    ) -> None:
        super().__init__()
        for name, m in (("margin_positive", margin_positive), ("margin_negative", margin_negative)):
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not -1 <= m <= 1:
                raise InputError(f"{name} must be a cosine similarity in [-1, 1], got {m!r}")
        self.margin_positive = float(margin_positive)
        self.margin_negative = float(margin_negative)
        self.lambda_positive = check_positive("lambda_positive", lambda_positive, allow_zero=True)
        self.lambda_negative = check_positive("lambda_negative", lambda_negative, allow_zero=True)
        if self.lambda_positive == 0 and self.lambda_negative == 0:
            raise InputError("lambda_positive and lambda_negative are both 0: the loss would be 0")
        self.gather = bool(gather)
        self.block_size = check_block_size(block_size)
        self._labels = LabelsSampler()

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        check_embeddings("embeddings", embeddings)
        labels = check_labels("labels", labels, int(embeddings.shape[0]))
        z = nn.functional.normalize(embeddings.float(), dim=1)
        g = distributed.gather(z) if self.gather else None
        keys = g.tensor if g is not None else z
        offset = g.offset if g is not None else 0
        key_labels = distributed.gather_no_grad(labels).tensor if self.gather else labels
        if int(keys.shape[0]) < 2:
            raise InputError("TCM needs at least 2 embeddings in the (global) batch")
        local = offset + torch.arange(z.shape[0], device=z.device)
        pairs = self._labels.bind(
            z, keys, self_index=local, query_labels=labels, key_labels=key_labels
        )
        m_pos, m_neg = self.margin_positive, self.margin_negative

        def block(i0: int, i1: int, q: Tensor, k: Tensor) -> tuple[Tensor, ...]:
            tile = pairs.tile(i0, i1, 0, int(k.shape[0]))
            s = q @ k.T
            hard_pos = tile.positive & (s <= m_pos)
            hard_neg = tile.negative & (s >= m_neg)
            return (
                ((m_pos - s) * hard_pos).sum(dim=1), hard_pos.sum(dim=1).to(s.dtype),
                ((s - m_neg) * hard_neg).sum(dim=1), hard_neg.sum(dim=1).to(s.dtype),
            )

        pos_sum, pos_n, neg_sum, neg_n = row_blocks(block, z, keys, block_size=self.block_size)
        loss = self.lambda_positive * self._mean(pos_sum.sum(), pos_n.sum())
        return loss + self.lambda_negative * self._mean(neg_sum.sum(), neg_n.sum())

    def _mean(self, total: Tensor, count: Tensor) -> Tensor:
        """``total / count`` over every process with ``gather=True``; 0 when no pair is hard."""
        n = distributed.all_reduce_sum(count) if self.gather else count
        if not bool(n > 0):
            return total * 0.0
        return distributed.global_mean(total, count) if self.gather else total / count

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        z = torch.randn(8, 4, generator=generator)
        y = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1])
        return [
            LossExample(init={}, args=(z, y), batch_args=(0, 1)),
            LossExample(
                init={"margin_positive": 0.5, "margin_negative": 0.0, "lambda_negative": 2.0,
                      "block_size": 3},
                args=(z, y), batch_args=(0, 1),
            ),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        return [
            BadInput({"margin_positive": 1.5}, None, "margin_positive"),
            BadInput({"lambda_negative": -1.0}, None, "lambda_negative"),
            BadInput({"lambda_positive": 0.0, "lambda_negative": 0.0}, None, "both 0"),
            BadInput({"block_size": 0}, None, "block_size"),
            BadInput({}, (z, torch.tensor([0, 1, 0])), "labels has 3 entries"),
            BadInput({}, (z, torch.tensor([0.0, 1.0, 0.0, 1.0])), "integer"),
            BadInput({}, (z[:1], torch.tensor([0])), "at least 2"),
        ]
