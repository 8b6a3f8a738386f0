"""Item substitute (CoSeRec)."""

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
from concord_sequence.data.batch import SequenceBatch

__all__ = ["Substitute"]


def _example_table(n_items: int = 30) -> list[list[int]]:
    # item i is correlated with i+1 and i+2 (wrapping), so every substitution changes the item
    return [[]] + [[(i % n_items) + 1, ((i + 1) % n_items) + 1] for i in range(1, n_items + 1)]


class Substitute(SequenceAugmentation):
    r"""Replace a random fraction of the items by correlated items (Liu et al. 2021,
    `Contrastive Self-supervised Sequential Recommendation with Robust Augmentation
    <https://arxiv.org/abs/2108.06479>`_ (CoSeRec), Sec. 4.1.2):

    .. math::
        \hat v_t = \mathrm{corr}(v_t) \text{ for } t \in \mathcal{T},\
        |\mathcal{T}| = \max(1, \lfloor \alpha |s| \rfloor), \qquad \hat v_t = v_t \text{ otherwise}

    where :math:`\mathrm{corr}(v)` is drawn uniformly from the ``top_k`` items most correlated with
    :math:`v` (``similar_items[v]``, e.g. from :func:`concord_sequence.data.item_similarity.
    item_cf_similar_items`, CoSeRec's offline ItemCF-IUF-style correlation). An item with no
    correlated item is kept.

    Args:
        ratio: :math:`\alpha`, in [0, 1] (default: ``0.1``, CoSeRec's ``substitute_rate``).
        similar_items: entry ``i`` lists items correlated with item ``i``, best first (required).
        top_k: draw among this many of them (default: ``1``, CoSeRec's most-correlated item).
    """

    registry_name = "sequence.substitute"

    def __init__(self, *, ratio: float = 0.1, similar_items: list[list[int]], top_k: int = 1) -> None:
        self.ratio = check_probability("ratio", ratio, upper_inclusive=True)
        self.similar_items, self.top_k, self._table = similar_items_config(similar_items, top_k)

    def augment_batch(self, batch: SequenceBatch, generator: torch.Generator | None) -> SequenceBatch:
        chosen = choose_positions(batch, count(self.ratio, batch.lengths, at_least=1), generator)
        u = random_uniform(tuple(batch.items.shape), generator, batch.items.device)
        replaced = self._table.draw(batch.items, u)
        return SequenceBatch(torch.where(chosen, replaced, batch.items), batch.lengths.clone())

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        batch = example_batch(generator)
        table = _example_table()

        def replaced_by_correlated(a: SequenceBatch, b: SequenceBatch) -> None:
            assert torch.equal(a.lengths, b.lengths)
            changed = a.items != b.items
            assert torch.equal(changed.sum(1), torch.floor(a.lengths * 0.5 + 1e-9).long().clamp_min(1))
            for old, new in zip(a.items[changed].tolist(), b.items[changed].tolist()):
                assert new in table[old]

        return [
            AugmentationExample(
                init={"ratio": 0.5, "similar_items": table, "top_k": 2}, input=batch,
                check=replaced_by_correlated,
            ),
            AugmentationExample(init={"similar_items": table}, input=batch.items[2].clone()),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"similar_items": []}, None, "similar_items must be a non-empty list"),
            BadInput({"similar_items": [[], [0]]}, None, r"similar_items\[1\]"),
            BadInput({"similar_items": [[1]], "top_k": 0}, None, "top_k"),
            BadInput({"similar_items": [[1]], "ratio": 2.0}, None, "ratio must lie"),
        ]

    def extra_repr(self) -> str:
        return f"ratio={self.ratio}, similar_items=<{len(self.similar_items)} rows>, top_k={self.top_k}"

