"""SASRec: causal and padding-blind, length buckets change nothing, the mask token and padding
are never candidates."""

from __future__ import annotations

import pytest
import torch

from concord_sequence.models import MLPAugmenter, SASRec


def _inputs(seed=0, b=16, width=10, n_items=20):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, width + 1, (b,), generator=g)
    items = torch.randint(1, n_items + 1, (b, width), generator=g)
    items[torch.arange(width)[None, :] >= lengths[:, None]] = 0
    return items, lengths


def test_output_ignores_padding_and_later_positions():
    torch.manual_seed(0)
    model = SASRec(20, max_len=10, hidden=16, heads=2).eval()
    items, lengths = _inputs()
    base = model(items, lengths)
    noisy = items.clone()
    noisy[torch.arange(10)[None, :] >= lengths[:, None]] = 7  # garbage after each sequence
    torch.testing.assert_close(model(noisy, lengths), base)
    # the last state depends on the earlier items
    changed = items.clone()
    changed[:, 0] = (changed[:, 0] % 20) + 1
    assert not torch.allclose(model(changed, lengths), base)


def test_length_buckets_equal_one_padded_pass():
    torch.manual_seed(1)
    model = SASRec(20, max_len=10, hidden=16, heads=2).eval()
    items, lengths = _inputs(1, b=40)
    bucketed = model(items, lengths)
    model.length_buckets = False
    torch.testing.assert_close(bucketed, model(items, lengths), rtol=1e-5, atol=1e-6)


def test_scores_cover_items_only():
    model = SASRec(20, max_len=10, hidden=8, heads=1)
    h = torch.randn(3, 8)
    assert model.scores(h).shape == (3, 20)
    assert model.mask_token == 21 and model.item_embedding.num_embeddings == 22
    torch.testing.assert_close(model.scores(h)[:, 4], h @ model.item_embedding.weight[5])


def test_bad_arguments():
    with pytest.raises(ValueError, match="divisible"):
        SASRec(10, hidden=10, heads=3)
    with pytest.raises(ValueError, match="max_len"):
        SASRec(10, max_len=0)
    with pytest.raises(ValueError, match="positions but max_len"):
        SASRec(10, max_len=3)(torch.ones(1, 4, dtype=torch.long), torch.tensor([4]))


def test_augmenter_output_is_unit_norm():
    out = MLPAugmenter(16)(torch.randn(5, 16))
    torch.testing.assert_close(out.norm(dim=1), torch.ones(5))
