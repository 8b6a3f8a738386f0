"""k-core filtering: repeatedly drop users and items with too few interactions."""

from __future__ import annotations

import numpy as np

from concord.errors import DataError
from concord_sequence.data.interactions import Interactions

__all__ = ["kcore_filter"]


def kcore_filter(data: Interactions, *, min_user: int = 0, min_item: int = 0) -> Interactions:
    """Keep the largest sub-log where every user has ``>= min_user`` and every item
    ``>= min_item`` interactions (RecBole's ``min_user_inter_num`` / ``min_item_inter_num``,
    iterated to a fixed point as the "5-core" of the Amazon preprocessing is).
    """
    for name, k in (("min_user", min_user), ("min_item", min_item)):
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise DataError(f"{name} must be an integer >= 0, got {k!r}")
    user, item = data.user, data.item
    while True:
        keep = np.ones(len(user), dtype=bool)
        for ids, k in ((user, min_user), (item, min_item)):
            if k > 1:
                _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
                keep &= counts[inverse] >= k
        if bool(keep.all()):
            return Interactions(user=user, item=item, source=data.source)
        user, item = user[keep], item[keep]
