"""Generated graphs: a stochastic block model (planted partition) with class-dependent features.

Used by the tests (no data set is ever downloaded) and by the scale benchmark (100,000 nodes,
1,000,000 edges), so it samples edges directly -- ``O(E)`` time and memory, never the
``O(N^2)`` Bernoulli matrix of a textbook SBM.
"""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from concord.errors import DataError

__all__ = ["sbm_graph"]


def sbm_graph(
    *,
    num_nodes: int,
    num_classes: int,
    num_edges: int,
    homophily: float = 0.8,
    num_features: int = 32,
    feature_signal: float = 1.0,
    generator: torch.Generator | None = None,
) -> Data:
    r"""A planted-partition stochastic block model.

    Node :math:`i` gets class :math:`y_i = i \bmod C` (balanced classes). Each of ``num_edges``
    undirected edges picks a uniform source :math:`u`, then with probability ``homophily`` a
    uniform target of the same class, otherwise a uniform target of any class; duplicates and
    self loops are removed and both directions stored. Features are
    :math:`x_i = s\,\mu_{y_i} + \varepsilon_i` with class means :math:`\mu_c \sim N(0, I)` and
    noise :math:`\varepsilon_i \sim N(0, I)`, :math:`s` = ``feature_signal``.

    Args:
        num_nodes: :math:`N`.
        num_classes: :math:`C \le N`.
        num_edges: undirected edges drawn (before de-duplication).
        homophily: probability that a drawn edge stays inside a class (default: ``0.8``).
        num_features: feature dimension (default: ``32``).
        feature_signal: :math:`s`, how far apart the class means are (default: ``1.0``).
        generator: random generator (default: torch's global one).

    Returns:
        ``Data(x, edge_index, y)`` with ``edge_index`` coalesced and symmetric.
    """
    if num_nodes < 1 or not 1 <= num_classes <= num_nodes:
        raise DataError(f"need num_nodes >= 1 and 1 <= num_classes <= num_nodes, got {num_nodes}, {num_classes}")
    if num_edges < 0:
        raise DataError(f"num_edges must be >= 0, got {num_edges}")
    if not 0.0 <= homophily <= 1.0:
        raise DataError(f"homophily must lie in [0, 1], got {homophily}")
    y = torch.arange(num_nodes) % num_classes
    src = torch.randint(0, num_nodes, (num_edges,), generator=generator)
    inside = torch.rand(num_edges, generator=generator) < homophily
    # a uniform member of src's class: class members are y + C * k for k < count(class)
    per_class = torch.bincount(y, minlength=num_classes)
    k = (torch.rand(num_edges, generator=generator) * per_class[y[src]]).long()
    same = y[src] + num_classes * k
    anywhere = torch.randint(0, num_nodes, (num_edges,), generator=generator)
    dst = torch.where(inside, same, anywhere)
    edge_index, _ = remove_self_loops(torch.stack([src, dst]))
    edge_index = coalesce(to_undirected(edge_index, num_nodes=num_nodes), num_nodes=num_nodes)
    means = torch.randn(num_classes, num_features, generator=generator)
    x = feature_signal * means[y] + torch.randn(num_nodes, num_features, generator=generator)
    return Data(x=x, edge_index=edge_index, y=y, num_nodes=num_nodes)
