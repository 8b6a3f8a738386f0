"""``hard_negatives``: keep only the ``k`` most similar negatives of each query."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.contract import SamplerExample
from concord.errors import InputError
from concord.samplers.base import PairContext, PairTile, Sampler

__all__ = ["HardNegativesSampler"]


class HardNegativesSampler(Sampler):
    r"""Restrict another sampler's negatives to the top-``k`` most similar keys of each query.

    .. math::
        N_k(i) = \operatorname{top\text{-}k}_{j \in N(i)} \langle q_i, k_j \rangle

    Positives (and their weights) are those of the ``base`` sampler. Similarity is the plain dot
    product of the embeddings given to :meth:`bind` -- losses bind L2-normalised embeddings, so
    it is the cosine similarity they contrast with. Ties are broken by the lower key index. A
    query with fewer than ``k`` negatives keeps all of them. The top-k is found in column tiles of
    ``tile_size`` keys, so binding costs ``O(N k)`` memory, never ``O(N M)``.

    Args:
        k: how many negatives to keep per query (``>= 1``).
        base: name of the sampler that decides positives and candidate negatives
            (default: ``"views"``).
        base_options: constructor options of ``base``.
        tile_size: keys per column tile while searching the top-k.
    """

    registry_name = "hard_negatives"

    def __init__(
        self,
        *,
        k: int = 16,
        base: str = "views",
        base_options: dict[str, Any] | None = None,
        tile_size: int = 4096,
    ) -> None:
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InputError(f"k must be an integer >= 1, got {k!r}")
        if isinstance(tile_size, bool) or not isinstance(tile_size, int) or tile_size < 1:
            raise InputError(f"tile_size must be an integer >= 1, got {tile_size!r}")
        if base == "hard_negatives":
            raise InputError("base cannot be 'hard_negatives' itself")
        from concord.registry import build

        self.k = k
        self.base = base
        self.base_options = dict(base_options or {})
        self.tile_size = tile_size
        self._base: Sampler = build("samplers", base, **self.base_options)
        self.needs_labels = self._base.needs_labels  # type: ignore[misc]

    def _prepare(self, ctx: PairContext) -> Any:
        base_state = self._base._prepare(ctx)
        n, m = ctx.n_query, ctx.n_key
        k = min(self.k, m)
        best_val = torch.full((n, k), float("-inf"), device=ctx.query.device)
        best_idx = torch.full((n, k), -1, dtype=torch.long, device=ctx.query.device)
        if n == 0 or m == 0:
            return base_state, best_idx
        with torch.no_grad():
            q = ctx.query.float()
            for j0 in range(0, m, self.tile_size):
                j1 = min(j0 + self.tile_size, m)
                neg = self._base._tile(ctx, base_state, 0, n, j0, j1).negative
                sim = (q @ ctx.key[j0:j1].float().T).masked_fill(~neg, float("-inf"))
                idx = torch.arange(j0, j1, device=sim.device).expand(n, -1)
                # Earlier tiles come first, so topk's stable order keeps lower indices on ties.
                vals = torch.cat([best_val, sim], dim=1)
                cand = torch.cat([best_idx, idx], dim=1)
                top_val, pos = _stable_topk(vals, k)
                best_val, best_idx = top_val, torch.gather(cand, 1, pos)
            best_idx = best_idx.masked_fill(torch.isinf(best_val), -1)
        return base_state, best_idx

    def _tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        base_state, best_idx = state
        t = self._base._tile(ctx, base_state, i0, i1, j0, j1)
        cols = torch.arange(j0, j1, device=best_idx.device)
        keep = (best_idx[i0:i1, :, None] == cols[None, None, :]).any(dim=1)
        return PairTile(positive=t.positive, negative=t.negative & keep, weight=t.weight)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        z = torch.nn.functional.normalize(torch.randn(10, 4, generator=generator), dim=1)
        y = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1, 2, 0])
        return [
            SamplerExample(init={"k": 3}, bind={"query": z[:5], "key": z[5:]}),
            SamplerExample(
                init={"k": 2, "base": "labels", "tile_size": 3},
                bind={"query": z, "key": z, "query_labels": y, "key_labels": y,
                      "self_index": torch.arange(10)},
            ),
        ]


def _stable_topk(values: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Top-k along dim 1, ties resolved in favour of the earlier column."""
    order = torch.sort(values, dim=1, descending=True, stable=True)
    return order.values[:, :k], order.indices[:, :k]
