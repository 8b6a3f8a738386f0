"""Item reorder (CL4SRec)."""

from __future__ import annotations

import torch

from concord.augment.base import random_uniform
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability
from concord_sequence.augment.examples import example_batch
from concord_sequence.augment.sequence_augmentation import SequenceAugmentation, count
from concord_sequence.data.batch import SequenceBatch

__all__ = ["Reorder"]


class Reorder(SequenceAugmentation):
    r"""Shuffle a random contiguous sub-sequence (CL4SRec, Xie et al. 2022, Sec. III-C3):

    .. math::
        s^{reorder} = [v_1, \ldots, \hat v_r, \ldots, \hat v_{r+L_r-1}, \ldots, v_{|s|}],
        \qquad L_r = \lfloor \beta |s| \rfloor,

    with :math:`[\hat v_r, \ldots]` a uniformly random permutation of :math:`[v_r, \ldots]`
    and :math:`r` uniform over the admissible starts.

    Args:
        beta: the fraction of the sequence shuffled, in [0, 1] (default: ``0.6``, as DuoRec's
            CL4SRec code).
    """

    registry_name = "sequence.reorder"

    def __init__(self, *, beta: float = 0.6) -> None:
        self.beta = check_probability("beta", beta, upper_inclusive=True)

    def augment_batch(self, batch: SequenceBatch, generator: torch.Generator | None) -> SequenceBatch:
        n = batch.lengths
        k = count(self.beta, n)
        u = random_uniform((n.shape[0],), generator, n.device)
        start = torch.floor(u * (n - k + 1).double()).long().clamp_max(n - k)
        pos = torch.arange(batch.width, device=n.device)[None, :].expand_as(batch.items)
        inside = (pos >= start[:, None]) & (pos < (start + k)[:, None])
        r = random_uniform(tuple(batch.items.shape), generator, n.device).masked_fill(~inside, 2.0)
        rank = r.argsort(dim=1).argsort(dim=1)  # inside positions get ranks 0..k-1
        key = torch.where(inside, start[:, None] + rank, pos)
        return SequenceBatch(batch.items.gather(1, key.argsort(dim=1)), n.clone())

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        batch = example_batch(generator)

        def shuffled_window(a: SequenceBatch, b: SequenceBatch) -> None:
            assert torch.equal(a.lengths, b.lengths)
            for src, out in zip(a.rows(), b.rows()):
                assert sorted(src.tolist()) == sorted(out.tolist()), "not a permutation"
                diff = torch.nonzero(src != out).flatten()
                if len(diff):
                    assert int(diff[-1] - diff[0]) + 1 <= int(len(src) * 0.8 + 1e-9)

        return [
            AugmentationExample(init={"beta": 0.8}, input=batch, check=shuffled_window),
            AugmentationExample(init={}, input=batch.items[2].clone()),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [BadInput({"beta": -0.1}, None, "beta must lie"), BadInput({}, ("abc",), "SequenceBatch")]
