"""Item insert (CoSeRec)."""

from __future__ import annotations

import torch

from concord.augment.base import random_uniform
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability
from concord_sequence.augment.examples import example_batch
from concord_sequence.augment.sequence_augmentation import (
    SequenceAugmentation,
    choose_positions,
    count,
)
from concord_sequence.augment.similar_items import similar_items_config
from concord_sequence.augment.substitute import _example_table
from concord_sequence.data.batch import SequenceBatch

__all__ = ["Insert"]


class Insert(SequenceAugmentation):
    r"""Insert correlated items before a random fraction of the positions (CoSeRec, Liu et al.
    2021, Sec. 4.1.1):

    .. math::
        s^{ins} = [v_1, \ldots, \mathrm{corr}(v_t), v_t, \ldots, v_{|s|}] \text{ for each }
        t \in \mathcal{T}, \quad |\mathcal{T}| = \max(1, \lfloor \beta |s| \rfloor)

    (one item per chosen position, CoSeRec's ``max_insert_num_per_pos = 1``). The view is longer
    than its source; when it exceeds the batch width it keeps its most recent items (the
    encoder reads at most ``max_len`` items anyway). Items without a correlated item get nothing
    inserted.

    Args:
        ratio: :math:`\beta`, in [0, 1] (default: ``0.4``, CoSeRec's ``insert_rate``).
        similar_items: entry ``i`` lists items correlated with item ``i``, best first (required).
        top_k: draw among this many of them (default: ``1``).
    """

    registry_name = "sequence.insert"

    def __init__(self, *, ratio: float = 0.4, similar_items: list[list[int]], top_k: int = 1) -> None:
        self.ratio = check_probability("ratio", ratio, upper_inclusive=True)
        self.similar_items, self.top_k, self._table = similar_items_config(similar_items, top_k)

    def augment_batch(self, batch: SequenceBatch, generator: torch.Generator | None) -> SequenceBatch:
        n, width = batch.lengths, batch.width
        chosen = choose_positions(batch, count(self.ratio, n, at_least=1), generator)
        u = random_uniform(tuple(batch.items.shape), generator, batch.items.device)
        extra = self._table.draw(batch.items, u)
        chosen = chosen & (extra != batch.items) & batch.valid()
        # original item t moves to t + (inserts at or before t); its insert sits just before it
        shift = chosen.long().cumsum(dim=1)
        new_len = n + chosen.sum(dim=1)
        rows = torch.arange(batch.items.shape[0], device=n.device)[:, None].expand_as(batch.items)
        pos = torch.arange(width, device=n.device)[None, :].expand_as(batch.items)
        out = torch.zeros(batch.items.shape[0], 2 * width, dtype=batch.items.dtype, device=n.device)
        valid = batch.valid()
        out[rows[valid], (pos + shift)[valid]] = batch.items[valid]
        out[rows[chosen], (pos + shift - 1)[chosen]] = extra[chosen]
        # keep the most recent `width` items
        drop = (new_len - width).clamp_min(0)
        cols = torch.arange(width, device=n.device)[None, :] + drop[:, None]
        items = out.gather(1, cols)
        kept = torch.minimum(new_len, torch.full_like(new_len, width))
        items = items.masked_fill(torch.arange(width, device=n.device)[None, :] >= kept[:, None], 0)
        return SequenceBatch(items, kept)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        batch = example_batch(generator)
        wide = SequenceBatch.from_lists(batch.rows(), width=20)
        table = _example_table()

        def source_is_subsequence(a: SequenceBatch, b: SequenceBatch) -> None:
            for src, out in zip(a.rows(), b.rows()):
                s, o = src.tolist(), out.tolist()
                assert len(o) == len(s) + max(1, int(len(s) * 0.5 + 1e-9))
                it = iter(o)
                assert all(x in it for x in s), "source order not kept"
                j = 0
                for k, x in enumerate(o):  # every inserted item precedes a source item it is correlated with
                    if j < len(s) and x == s[j]:
                        j += 1
                    else:
                        assert x in table[o[k + 1]]

        return [
            AugmentationExample(
                init={"ratio": 0.5, "similar_items": table}, input=wide, check=source_is_subsequence
            ),
            AugmentationExample(init={"similar_items": table, "top_k": 2}, input=batch),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"similar_items": "abc"}, None, "similar_items must be"),
            BadInput({"similar_items": [[1]], "ratio": -1.0}, None, "ratio must lie"),
        ]

    def extra_repr(self) -> str:
        return f"ratio={self.ratio}, similar_items=<{len(self.similar_items)} rows>, top_k={self.top_k}"
