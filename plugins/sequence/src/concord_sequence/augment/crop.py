"""Item crop (CL4SRec)."""

from __future__ import annotations

import torch

from concord.augment.base import random_uniform
from concord.contract import AugmentationExample, BadInput
from concord.validation import check_probability
from concord_sequence.augment.examples import example_batch
from concord_sequence.augment.sequence_augmentation import SequenceAugmentation, count
from concord_sequence.data.batch import SequenceBatch

__all__ = ["Crop"]


class Crop(SequenceAugmentation):
    r"""Keep a random contiguous sub-sequence (Xie et al. 2022, `Contrastive Learning for
    Sequential Recommendation <https://arxiv.org/abs/2010.14395>`_ (CL4SRec), Sec. III-C1):

    .. math::
        s^{crop} = [v_c, v_{c+1}, \ldots, v_{c+L_c-1}], \qquad L_c = \lfloor \eta |s| \rfloor,
        \quad c \sim \mathcal{U}\{1, \ldots, |s| - L_c + 1\}

    Departure: :math:`L_c` is at least 1 (for :math:`\eta |s| < 1` the paper's crop is empty, which
    no encoder can read; DuoRec's CL4SRec code leaves sequences of length 1 unaugmented).

    Args:
        eta: the fraction of items kept, in (0, 1] (default: ``0.6``, as DuoRec's CL4SRec code).

    Shapes:
        a :class:`~concord_sequence.data.batch.SequenceBatch` ``(B, L)`` or one 1-D sequence.
    """

    registry_name = "sequence.crop"

    def __init__(self, *, eta: float = 0.6) -> None:
        self.eta = check_probability("eta", eta, upper_inclusive=True, lower_inclusive=False)

    def augment_batch(self, batch: SequenceBatch, generator: torch.Generator | None) -> SequenceBatch:
        n = batch.lengths
        keep = count(self.eta, n, at_least=1)
        u = random_uniform((n.shape[0],), generator, n.device)
        start = torch.floor(u * (n - keep + 1).double()).long().clamp_max(n - keep)
        cols = torch.arange(batch.width, device=n.device)
        idx = (start[:, None] + cols[None, :]).clamp_max(batch.width - 1)
        items = batch.items.gather(1, idx)
        items = items.masked_fill(cols[None, :] >= keep[:, None], 0)
        return SequenceBatch(items, keep)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        batch = example_batch(generator)

        def contiguous_run(a: SequenceBatch, b: SequenceBatch) -> None:
            for src, out in zip(a.rows(), b.rows()):
                assert 1 <= len(out) <= len(src)
                s, o = src.tolist(), out.tolist()
                assert any(s[i : i + len(o)] == o for i in range(len(s) - len(o) + 1)), "not a sub-run"

        return [
            AugmentationExample(init={"eta": 0.5}, input=batch, check=contiguous_run),
            AugmentationExample(init={"eta": 0.6}, input=batch.items[2, :10].clone()),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"eta": 0.0}, None, r"eta must lie in \(0, 1\]"),
            BadInput({"eta": 1.5}, None, "eta must lie"),
            BadInput({}, (torch.tensor([], dtype=torch.long),), "empty sequence"),
            BadInput({}, (torch.tensor([1.0, 2.0]),), "integers"),
        ]
