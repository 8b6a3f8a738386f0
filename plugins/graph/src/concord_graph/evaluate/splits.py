"""Evaluation splits of the node-classification protocols, with the sizes their names promise.

============== ============================================ ============================
protocol       train / val / test                           model selection (C)
============== ============================================ ============================
``grace``      ``floor(N/10)`` / -- / the other nodes        5-fold CV on the train part
``public``     the data set's masks (Planetoid 140/500/1000) validation accuracy
``random_10_10_80`` ``floor(N/10)`` / ``floor(N/10)`` / rest validation accuracy
============== ============================================ ============================

``grace`` is the protocol of GRACE's and GCA's papers (a random 10% of the nodes trains the
probe, the remaining 90% test it; Zhu et al. 2020, Sec. 5.1). ``random_10_10_80`` really is
10 / 10 / 80 -- PyGCL's split of that name hands 80% to validation and 10% to test. Splits are
drawn from a seeded NumPy generator, uniformly (not stratified), as the papers do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Data

from concord.errors import InputError

__all__ = ["PROTOCOLS", "Split", "protocol_split"]

PROTOCOLS: tuple[str, ...] = ("grace", "public", "random_10_10_80")


@dataclass(frozen=True)
class Split:
    """Disjoint node index arrays; ``val`` is ``None`` when C is chosen by cross-validation."""

    train: np.ndarray
    val: np.ndarray | None
    test: np.ndarray


def _mask_indices(data: Data, name: str) -> np.ndarray:
    mask = data[name]
    if mask.dim() != 1:
        raise InputError(f"{name} must be a 1-D node mask, got shape {tuple(mask.shape)} (several splits?)")
    return mask.nonzero().view(-1).cpu().numpy()


def protocol_split(protocol: str, num_nodes: int, *, seed: int, data: Data | None = None) -> Split:
    """The split of ``protocol`` for a graph of ``num_nodes`` nodes.

    Args:
        protocol: one of :data:`PROTOCOLS`.
        num_nodes: :math:`N`.
        seed: seeds the permutation of the random protocols.
        data: the graph, for ``public`` (reads ``train_mask`` / ``val_mask`` / ``test_mask``).
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown evaluation protocol {protocol!r}; protocols: {list(PROTOCOLS)}")
    if protocol == "public":
        if data is None or not all(k in data for k in ("train_mask", "val_mask", "test_mask")):
            raise InputError(
                "protocol 'public' needs the data set's own train_mask / val_mask / test_mask "
                "(Planetoid has them); use 'grace' or 'random_10_10_80' for other graphs"
            )
        return Split(_mask_indices(data, "train_mask"), _mask_indices(data, "val_mask"),
                     _mask_indices(data, "test_mask"))
    if num_nodes < 10:
        raise InputError(f"protocol {protocol!r} needs at least 10 nodes, got {num_nodes}")
    perm = np.random.default_rng(seed).permutation(num_nodes)
    tenth = num_nodes // 10
    if protocol == "grace":
        return Split(perm[:tenth], None, perm[tenth:])
    return Split(perm[:tenth], perm[tenth : 2 * tenth], perm[2 * tenth :])


def as_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
