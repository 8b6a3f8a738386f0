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


def largest_allocation(fn) -> int:
    """Bytes of the largest single CPU allocation made while ``fn()`` runs (torch profiler)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return max((e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0), default=0)


def _ranked_negatives(q, k, negatives_of, i, top):
    """Brute force: query i's candidate negatives sorted by (-similarity, index), first ``top``."""
    return sorted(negatives_of(i), key=lambda j: (-float(q[i] @ k[j]), j))[:top]


@pytest.mark.parametrize("tile_size", [1, 2, 3, 5, 4096])
def test_hard_negatives_are_the_top_k_by_brute_force(tile_size):
    """Every tile of every tiling equals the brute-force top-k, with ties (duplicated keys)
    resolved towards the lower index; row and column blocks that do not divide the batch
    (7 queries, 9 keys) catch an off-by-one in either loop of the search."""
    g = torch.Generator().manual_seed(0)
    q = F.normalize(torch.randn(7, 4, generator=g), dim=1)
    k = F.normalize(torch.randn(9, 4, generator=g), dim=1)
    k[5] = k[2]  # ties: keys 2 and 5 are equally similar to every query
    k[8] = k[1]
    y_q = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    y_k = torch.tensor([0, 1, 2, 0, 1, 0, 0, 1, 2])
    s = HardNegativesSampler(k=3, base="labels", tile_size=tile_size)
    pairs = s.bind(q, k, query_labels=y_q, key_labels=y_k)
    want = torch.zeros(7, 9, dtype=torch.bool)
    for i in range(7):
        want[i, _ranked_negatives(q, k, lambda i: [j for j in range(9) if y_k[j] != y_q[i]], i, 3)] = True
    for rows, cols in ((7, 9), (2, 4), (3, 2), (1, 1)):
        for i0 in range(0, 7, rows):
            for j0 in range(0, 9, cols):
                t = pairs.tile(i0, min(i0 + rows, 7), j0, min(j0 + cols, 9))
                assert torch.equal(t.negative, want[i0 : i0 + rows, j0 : j0 + cols])
                assert torch.equal(t.positive, (y_q[:, None] == y_k[None, :])[i0 : i0 + rows, j0 : j0 + cols])


def test_hard_negatives_keep_all_when_fewer_than_k():
    z = torch.randn(3, 2)
    t = HardNegativesSampler(k=10).bind(z, z, self_index=torch.arange(3)).dense()
    assert t.negative.sum(dim=1).tolist() == [2, 2, 2]  # 2 candidates each, all kept
    t = HardNegativesSampler(k=10).bind(z[:2], z).dense()
    assert t.negative.sum(dim=1).tolist() == [2, 2]


def test_hard_negatives_tile_memory_is_linear_in_k_plus_the_tile():
    """A 64 x 64 tile with k = 256 kept negatives per query: answering it needs O(B (k + C))
    memory. Catches the old ``(B, k, C)`` membership tensor (64 * 256 * 64 bytes = 1 MiB) -- and
    any dense answer -- by the largest single allocation the tile makes, bounded by
    ``8 * B * (k + C)`` bytes (an int64 per kept index and tile column of each row: 160 KiB)."""
    g = torch.Generator().manual_seed(0)
    z = F.normalize(torch.randn(1024, 8, generator=g), dim=1)
    pairs = HardNegativesSampler(k=256, tile_size=512).bind(z, z, self_index=torch.arange(1024))
    b, c, k = 64, 64, 256
    t = pairs.tile(128, 128 + b, 640, 640 + c)
    assert int(t.negative.sum()) > 0  # some of those rows keep keys of these columns
    assert largest_allocation(lambda: pairs.tile(128, 128 + b, 640, 640 + c)) <= 8 * b * (k + c)


def test_hard_negatives_bind_searches_in_blocks():
    """Binding N = 2048 queries with tile_size T = 128 and k = 8 keeps the N x k indices (int64:
    128 KiB) and otherwise sorts T x (T + k) blocks (a sort holds 12 bytes per entry, a float
    value and an int64 index: 204 KiB). Catches the old search, which sorted every query against
    a column block at once (12 N (T + k) bytes = 3.2 MiB per step; a dense search would be
    N x N): the largest single allocation is bounded by ``16 * max(N k, T (T + k))`` bytes."""
    g = torch.Generator().manual_seed(1)
    z = F.normalize(torch.randn(2048, 8, generator=g), dim=1)
    s = HardNegativesSampler(k=8, tile_size=128)
    bound = 16 * max(2048 * 8, 128 * (128 + 8))
    assert largest_allocation(lambda: s.bind(z, z, self_index=torch.arange(2048))) <= bound


def test_hard_negatives_labels_come_from_the_base_without_touching_the_class():
    """``hard_negatives`` over ``labels`` needs class labels; the old constructor assigned the
    ClassVar ``needs_labels`` on the instance (so the class's declaration and an instance's
    disagreed, and a reader of the class saw ``None``)."""
    s = HardNegativesSampler(base="labels")
    assert s.label_kind() == "discrete" and HardNegativesSampler(base="views").label_kind() is None
    assert "needs_labels" not in vars(s)
    assert HardNegativesSampler.needs_labels is None
    z = torch.randn(4, 3)
    with pytest.raises(ValueError, match="needs query_labels and key_labels"):
        s.bind(z, z)


def test_tiles_are_answered_from_rows_and_columns_alone():
    """A 2 x 3 tile of a 4000 x 4000 labelled batch: its masks equal the brute-force rule on
    exactly those rows and columns, and answering it allocates nothing near the dense 16 MB
    mask (catches a sampler that builds ``dense()`` and slices it: the values would agree, the
    allocation would not)."""
    n = 4000
    z = torch.randn(n, 4)
    y = torch.arange(n) % 5
    pairs = LabelsSampler().bind(z, z, query_labels=y, key_labels=y, self_index=torch.arange(n))
    for i0, j0 in ((10, 30), (1000, 998), (3997, 0)):
        tile = pairs.tile(i0, i0 + 2, j0, j0 + 3)
        pos, neg = brute(2, 3, lambda a, b, i0=i0, j0=j0: None if i0 + a == j0 + b else
                         ("pos" if y[i0 + a] == y[j0 + b] else "neg"))
        assert torch.equal(tile.positive, pos) and torch.equal(tile.negative, neg)
    assert largest_allocation(lambda: pairs.tile(1000, 1002, 998, 1001)) < 1024
    with pytest.raises(ValueError, match="outside a 4000 x 4000 batch"):
        pairs.tile(0, n + 1, 0, 1)


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
