"""Re-indexing raw ids to contiguous integers (items from 1; 0 is the padding id)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from concord.errors import DataError
from concord_sequence.data.interactions import Interactions

__all__ = ["Reindexed", "reindex"]


@dataclass(frozen=True)
class Reindexed:
    """The re-indexed log and the raw id of every new id (``item_ids[0]`` is the padding)."""

    data: Interactions
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids) - 1


def _codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if ids.dtype.kind in "iu":
        # Integer ids keep their order (a log whose items are already 1..I keeps its ids).
        uniques, codes = np.unique(ids, return_inverse=True)
        return codes.astype(np.int64), uniques
    codes, uniques = pd.factorize(ids)  # tokens: order of first appearance, as RecBole does
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def reindex(data: Interactions) -> Reindexed:
    """Users become ``0..U-1`` (in order of appearance), items ``1..I``."""
    if len(data) == 0:
        raise DataError(f"no interactions left to index in {data.source or 'the data'}")
    user_codes, _ = pd.factorize(data.user)
    user_ids = pd.unique(data.user)
    item_codes, item_uniques = _codes(data.item)
    item_ids = np.concatenate([np.asarray([None], dtype=object), item_uniques.astype(object)])
    return Reindexed(
        data=Interactions(user=user_codes.astype(np.int64), item=item_codes + 1, source=data.source),
        user_ids=np.asarray(user_ids, dtype=object),
        item_ids=item_ids,
    )
