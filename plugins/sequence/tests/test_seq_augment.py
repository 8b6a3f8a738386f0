"""The five augmentations: input unchanged, view differs, and what each promises, checked
element by element; the CL4SRec pair of distinct augmentations; config errors."""

from __future__ import annotations

import pytest
import torch

from concord.registry import UnknownComponentError, build
from concord.testing import assert_same, snapshot
from concord_sequence.augment import Crop, Insert, Mask, PairViews, Reorder, Substitute
from concord_sequence.data.batch import SequenceBatch

TABLE = [[]] + [[i % 40 + 1, (i + 1) % 40 + 1] for i in range(1, 41)]


def _batch() -> SequenceBatch:
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randperm(40, generator=g)[:n] + 1 for n in (1, 2, 5, 9, 12, 12)]
    return SequenceBatch.from_lists(seqs, width=12)


AUGS = [
    Crop(eta=0.5), Mask(gamma=0.4, mask_token=41), Reorder(beta=0.6),
    Substitute(ratio=0.3, similar_items=TABLE), Insert(ratio=0.3, similar_items=TABLE),
]


@pytest.mark.parametrize("aug", AUGS, ids=lambda a: type(a).__name__)
def test_input_unchanged_and_view_differs(aug):
    batch = _batch()
    before = snapshot(batch)
    view = aug(batch, generator=torch.Generator().manual_seed(1))
    assert_same(batch, before)  # never mutated
    long_rows = batch.lengths >= 5
    differs = [not torch.equal(a, b) for a, b, keep in zip(batch.rows(), view.rows(), long_rows) if keep]
    assert all(differs), f"{type(aug).__name__} left a sequence of length >= 5 unchanged"
    one = batch.items[4, :12].clone()
    out = aug(one, generator=torch.Generator().manual_seed(2))
    assert torch.equal(one, batch.items[4]) and out.dim() == 1


def test_crop_keeps_floor_eta_n_contiguous_items():
    batch = _batch()
    for seed in range(5):
        view = Crop(eta=0.5)(batch, generator=torch.Generator().manual_seed(seed))
        for src, out in zip(batch.rows(), view.rows()):
            n = len(src)
            assert len(out) == max(1, int(0.5 * n))
            starts = [i for i in range(n - len(out) + 1) if torch.equal(src[i : i + len(out)], out)]
            assert starts


def test_mask_masks_exactly_floor_gamma_n_positions():
    batch = _batch()
    view = Mask(gamma=0.4, mask_token=41)(batch, generator=torch.Generator().manual_seed(3))
    for src, out in zip(batch.rows(), view.rows()):
        changed = (src != out).nonzero().flatten()
        assert len(changed) == int(0.4 * len(src))
        assert bool((out[changed] == 41).all())


def test_reorder_permutes_one_window_of_floor_beta_n():
    batch = _batch()
    for seed in range(5):
        view = Reorder(beta=0.6)(batch, generator=torch.Generator().manual_seed(seed))
        for src, out in zip(batch.rows(), view.rows()):
            assert sorted(src.tolist()) == sorted(out.tolist())
            diff = (src != out).nonzero().flatten()
            if len(diff):
                assert int(diff[-1] - diff[0]) + 1 <= int(0.6 * len(src))


def test_reorder_is_uniform_over_window_permutations():
    src = SequenceBatch.from_lists([[1, 2, 3]])
    counts: dict[tuple, int] = {}
    g = torch.Generator().manual_seed(0)
    for _ in range(1200):
        out = tuple(Reorder(beta=1.0)(src, generator=g).items[0].tolist())
        counts[out] = counts.get(out, 0) + 1
    assert len(counts) == 6 and min(counts.values()) > 140  # ~200 each


def test_substitute_and_insert_use_correlated_items():
    batch = _batch()
    view = Substitute(ratio=0.3, similar_items=TABLE)(batch, generator=torch.Generator().manual_seed(4))
    for src, out in zip(batch.rows(), view.rows()):
        changed = (src != out).nonzero().flatten()
        assert len(changed) == max(1, int(0.3 * len(src)))
        for t in changed.tolist():
            assert int(out[t]) in TABLE[int(src[t])][:1]  # top_k=1: the most correlated
    view = Insert(ratio=0.3, similar_items=TABLE)(batch, generator=torch.Generator().manual_seed(5))
    for src, out in zip(batch.rows(), view.rows()):
        k = max(1, int(0.3 * len(src)))
        assert len(out) == min(len(src) + k, 12)


def test_insert_keeps_most_recent_items_when_too_long():
    batch = SequenceBatch.from_lists([[1, 2, 3, 4, 5, 6]], width=6)
    out = Insert(ratio=0.5, similar_items=TABLE)(batch, generator=torch.Generator().manual_seed(0))
    assert int(out.lengths[0]) == 6 and int(out.items[0, -1]) == 6


def test_pair_views_draw_two_different_operations():
    batch = SequenceBatch.from_lists([[i, i + 1, i + 2, i + 3] for i in range(1, 200, 5)], width=4)
    tag = [Mask(gamma=1.0, mask_token=1001), Mask(gamma=1.0, mask_token=1002), Mask(gamma=1.0, mask_token=1003)]
    v1, v2 = PairViews(tag)(batch, torch.Generator().manual_seed(0))
    a, b = v1.items[:, 0], v2.items[:, 0]
    assert bool((a != b).all())
    assert set(a.tolist()) == {1001, 1002, 1003}


def test_unknown_augmentation_name_is_a_clear_error():
    with pytest.raises(UnknownComponentError, match=r"no augmentation named 'sequence.crap'.*did you mean 'sequence.crop'"):
        build("augmentations", "sequence.crap")
    with pytest.raises(ValueError, match="unknown option"):
        build("augmentations", "sequence.crop", ratio=0.2)
