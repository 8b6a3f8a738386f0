"""Sampler masks against brute-force loops over every (query, key) pair."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from concord.samplers import HardNegativesSampler, LabelDistanceSampler, LabelsSampler, ViewsSampler


def brute(n, m, rule):
    pos = torch.zeros(n, m, dtype=torch.bool)
    neg = torch.zeros(n, m, dtype=torch.bool)
    for i in range(n):
        for j in range(m):
            kind = rule(i, j)
            pos[i, j] = kind == "pos"
            neg[i, j] = kind == "neg"
    return pos, neg


def test_views_two_view_layout_with_self_and_queue():
    z = torch.randn(5, 3)
    ids = torch.tensor([0, 1, 2, 0, 1])
    key_ids = torch.tensor([0, 1, 2, 0, 1, -1, -1])
    keys = torch.cat([z, torch.randn(2, 3)])
    self_index = torch.arange(5)
    t = ViewsSampler().bind(z, keys, query_ids=ids, key_ids=key_ids, self_index=self_index).dense()

    def rule(i, j):
        if j == i:
            return None
        return "pos" if key_ids[j] == ids[i] else "neg"

    pos, neg = brute(5, 7, rule)
    assert torch.equal(t.positive, pos) and torch.equal(t.negative, neg)


def test_labels_exclude_self_only():
    z = torch.randn(6, 2)
    y = torch.tensor([1, 2, 1, 3, 2, 1])
    t = LabelsSampler().bind(z, z, query_labels=y, key_labels=y, self_index=torch.arange(6)).dense()
    pos, neg = brute(6, 6, lambda i, j: None if i == j else ("pos" if y[i] == y[j] else "neg"))
    assert torch.equal(t.positive, pos) and torch.equal(t.negative, neg)


def test_label_distance_window_and_gaussian_weights():
    z = torch.randn(5, 2)
    y = torch.tensor([0.0, 0.3, 0.5, 2.0, 2.25])
    s = LabelDistanceSampler(window=0.3, weighting="gaussian")
    t = s.bind(z, z, query_labels=y, key_labels=y, self_index=torch.arange(5)).dense()
    pos, neg = brute(
        5, 5,
        lambda i, j: None if i == j else ("pos" if abs(float(y[i] - y[j])) <= 0.3 + 1e-7 else "neg"),
    )
    assert torch.equal(t.positive, pos) and torch.equal(t.negative, neg)
    expected = torch.exp(-((y[:, None] - y[None, :]) ** 2) / (2 * 0.3**2))
    torch.testing.assert_close(t.weight, expected)


@pytest.mark.parametrize("tile_size", [1, 3, 4096])
def test_hard_negatives_are_the_top_k_by_brute_force(tile_size):
    g = torch.Generator().manual_seed(0)
    q = F.normalize(torch.randn(7, 4, generator=g), dim=1)
    k = F.normalize(torch.randn(9, 4, generator=g), dim=1)
    y_q = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    y_k = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    s = HardNegativesSampler(k=3, base="labels", tile_size=tile_size)
    t = s.bind(q, k, query_labels=y_q, key_labels=y_k).dense()
    for i in range(7):
        negatives = [j for j in range(9) if y_k[j] != y_q[i]]
        ranked = sorted(negatives, key=lambda j: (-float(q[i] @ k[j]), j))[:3]
        assert set(torch.nonzero(t.negative[i]).flatten().tolist()) == set(ranked)
        assert torch.equal(t.positive[i], y_k == y_q[i])


def test_hard_negatives_keep_all_when_fewer_than_k():
    z = torch.randn(3, 2)
    t = HardNegativesSampler(k=10).bind(z, z, self_index=torch.arange(3)).dense()
    assert t.negative.sum(dim=1).tolist() == [2, 2, 2]  # 2 candidates each, all kept
    t = HardNegativesSampler(k=10).bind(z[:2], z).dense()
    assert t.negative.sum(dim=1).tolist() == [2, 2]


def test_tiles_never_need_the_dense_matrix():
    z = torch.randn(50, 4)
    pairs = LabelsSampler().bind(z, z, query_labels=torch.arange(50) % 5, key_labels=torch.arange(50) % 5)
    tile = pairs.tile(10, 12, 30, 33)
    assert tile.positive.shape == (2, 3)
    with pytest.raises(ValueError, match="outside a 50 x 50 batch"):
        pairs.tile(0, 51, 0, 1)


def test_bind_errors():
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="needs query_labels and key_labels"):
        LabelsSampler().bind(z, z)
    with pytest.raises(ValueError, match="key_labels has 3 entries"):
        LabelsSampler().bind(z, z, query_labels=torch.arange(4), key_labels=torch.arange(3))
    with pytest.raises(ValueError, match="integer"):
        LabelsSampler().bind(z, z, query_labels=torch.rand(4), key_labels=torch.rand(4))
    with pytest.raises(ValueError, match="self_index values must lie in"):
        ViewsSampler().bind(z, z, self_index=torch.tensor([0, 1, 2, 9]))
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        HardNegativesSampler(k=0)
    with pytest.raises(ValueError, match="window must be finite and >= 0"):
        LabelDistanceSampler(window=-1.0)


class _SameCell(LabelsSampler):
    """Test sampler with vector labels: positive when both coordinates of (N, 2) labels agree."""

    needs_labels = "continuous"
    label_width = 2

    def _tile(self, ctx, state, i0, i1, j0, j1):
        from concord.samplers import PairTile

        q, k = ctx.query_labels[i0:i1], ctx.key_labels[j0:j1]
        same = (q[:, None, :] == k[None, :, :]).all(dim=-1)
        not_self = ~ctx.is_self(i0, i1, j0, j1)
        return PairTile(positive=same & not_self, negative=~same & not_self)


def test_vector_labels_reach_the_sampler_and_wrong_widths_are_refused():
    z = torch.randn(4, 3)
    cells = torch.tensor([[0.0, 1.0], [0.0, 2.0], [0.0, 1.0], [1.0, 2.0]])
    t = _SameCell().bind(z, z, query_labels=cells, key_labels=cells).dense()
    pos, _ = brute(4, 4, lambda i, j: "pos" if bool((cells[i] == cells[j]).all()) else "neg")
    assert torch.equal(t.positive, pos)
    with pytest.raises(ValueError, match=r"shape \(rows, 2\)"):
        _SameCell().bind(z, z, query_labels=cells[:, 0], key_labels=cells[:, 0])
    with pytest.raises(ValueError, match=r"shape \(rows, 2\)"):
        _SameCell().bind(z, z, query_labels=torch.zeros(4, 3), key_labels=torch.zeros(4, 3))
    with pytest.raises(ValueError, match="must be 1-D"):  # one label per row stays the default
        LabelsSampler().bind(z, z, query_labels=cells.long(), key_labels=cells.long())


def test_info_nce_passes_vector_labels_to_its_sampler():
    from concord.losses import InfoNCE

    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    cls = torch.tensor([0, 1, 0, 2, 1, 2])
    cells = torch.stack([cls.float(), torch.zeros(6)], dim=1)  # the same classes, as vectors
    by_vector = InfoNCE(sampler=_SameCell())(q, k, query_labels=cells, key_labels=cells)
    by_label = InfoNCE(sampler="labels")(q, k, query_labels=cls, key_labels=cls)
    torch.testing.assert_close(by_vector, by_label)
