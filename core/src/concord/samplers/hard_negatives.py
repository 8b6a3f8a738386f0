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
    r"""Restrict another sampler's negatives to the top-``k`` most similar keys of each query
    (the "hardest negatives" of MoCHi, Kalantidis et al. 2020, https://arxiv.org/abs/2010.01028).

    .. math::
        N_k(i) = \operatorname{top\text{-}k}_{j \in N(i)} \langle q_i, k_j \rangle

    Positives (and their weights) are those of the ``base`` sampler. Similarity is the plain dot
    product of the embeddings given to :meth:`bind` -- losses bind L2-normalised embeddings, so
    it is the cosine similarity they contrast with. Ties are broken by the lower key index. A
    query with fewer than ``k`` negatives keeps all of them.

    Memory: binding keeps each query's ``k`` key indices (``O(N k)``) and searches them in
    ``tile_size x tile_size`` blocks of the similarity matrix (working memory
    ``O(tile_size (tile_size + k))``); a tile of ``B x C`` pairs is answered from those indices
    in ``O(B (k + C))``. Nothing of size ``N x M`` (or ``B x k x C``) is ever formed.

    Args:
        k: how many negatives to keep per query (``>= 1``).
        base: name of the sampler that decides positives and candidate negatives
            (default: ``"views"``).
        base_options: constructor options of ``base``.
        tile_size: rows and columns of the similarity blocks searched for the top-k.
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

    def label_kind(self) -> str | None:
        """The base sampler's labels: ``hard_negatives`` over ``labels`` needs class labels."""
        return self._base.label_kind()

    def prepare(self, ctx: PairContext) -> Any:
        base_state = self._base.prepare(ctx)
        n, m = ctx.n_query, ctx.n_key
        k = min(self.k, m)
        best_idx = torch.full((n, k), -1, dtype=torch.long, device=ctx.query.device)
        step = self.tile_size
        with torch.no_grad():
            for i0 in range(0, n, step):
                i1 = min(i0 + step, n)
                q = ctx.query[i0:i1].float()
                top_val = torch.full((i1 - i0, k), float("-inf"), device=q.device)
                top_idx = torch.full((i1 - i0, k), -1, dtype=torch.long, device=q.device)
                for j0 in range(0, m, step):
                    j1 = min(j0 + step, m)
                    neg = self._base.tile(ctx, base_state, i0, i1, j0, j1).negative
                    sim = (q @ ctx.key[j0:j1].float().T).masked_fill(~neg, float("-inf"))
                    cols = torch.arange(j0, j1, device=q.device).expand(i1 - i0, -1)
                    # the running best (lower key indices) comes first: the stable sort keeps
                    # lower indices on ties
                    vals, pos = _stable_topk(torch.cat([top_val, sim], dim=1), k)
                    top_idx = torch.gather(torch.cat([top_idx, cols], dim=1), 1, pos)
                    top_val = vals
                best_idx[i0:i1] = top_idx.masked_fill(torch.isinf(top_val), -1)
        return base_state, best_idx

    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        base_state, best_idx = state
        t = self._base.tile(ctx, base_state, i0, i1, j0, j1)
        chosen = best_idx[i0:i1]  # (B, k) key indices, -1 where a query has fewer negatives
        row, slot = torch.nonzero((chosen >= j0) & (chosen < j1), as_tuple=True)
        keep = torch.zeros((i1 - i0, j1 - j0), dtype=torch.bool, device=chosen.device)
        keep[row, chosen[row, slot] - j0] = True
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
