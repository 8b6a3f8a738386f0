"""Item mask (CL4SRec)."""

from __future__ import annotations

import torch

from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_probability
from concord_sequence.augment.examples import example_batch
from concord_sequence.augment.sequence_augmentation import (
    SequenceAugmentation,
    choose_positions,
    count,
)
from concord_sequence.data.batch import SequenceBatch

__all__ = ["Mask"]


class Mask(SequenceAugmentation):
    r"""Replace a random fraction of the items by a mask token (CL4SRec, Xie et al. 2022,
    Sec. III-C2):

    .. math::
        s^{mask} = [\hat v_1, \ldots, \hat v_{|s|}], \quad \hat v_t = [\mathrm{mask}]
        \text{ for } t \in \mathcal{T},\ |\mathcal{T}| = \lfloor \gamma |s| \rfloor
        \text{ (uniform without replacement)}, \quad \hat v_t = v_t \text{ otherwise}

    Args:
        gamma: the fraction masked, in [0, 1] (default: ``0.3``, as DuoRec's CL4SRec code).
        mask_token: the id of the mask item (the encoder's ``n_items + 1``; required).
    """

    registry_name = "sequence.mask"

    def __init__(self, *, gamma: float = 0.3, mask_token: int) -> None:
        self.gamma = check_probability("gamma", gamma, upper_inclusive=True)
        if isinstance(mask_token, bool) or not isinstance(mask_token, int) or mask_token < 0:
            raise InputError(f"mask_token must be a non-negative integer id, got {mask_token!r}")
        self.mask_token = mask_token

    def augment_batch(self, batch: SequenceBatch, generator: torch.Generator | None) -> SequenceBatch:
        chosen = choose_positions(batch, count(self.gamma, batch.lengths), generator)
        return SequenceBatch(batch.items.masked_fill(chosen, self.mask_token), batch.lengths.clone())

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        batch = example_batch(generator)

        def masked_count(a: SequenceBatch, b: SequenceBatch) -> None:
            assert torch.equal(a.lengths, b.lengths)
            changed = (a.items != b.items).sum(dim=1)
            assert torch.equal(changed, torch.floor(a.lengths * 0.5 + 1e-9).long())
            assert bool((b.items[a.items != b.items] == 99).all())

        return [
            AugmentationExample(init={"gamma": 0.5, "mask_token": 99}, input=batch, check=masked_count),
            AugmentationExample(init={"mask_token": 99}, input=batch.items[4].clone()),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"gamma": 1.2, "mask_token": 9}, None, "gamma must lie"),
            BadInput({"mask_token": -1}, None, "mask_token"),
            BadInput({"mask_token": 9}, (torch.zeros(2, 3),), "1-D|integers"),
        ]
