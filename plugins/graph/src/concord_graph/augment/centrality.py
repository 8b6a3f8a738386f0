r"""Node centralities of GCA (Zhu et al. 2021, `Graph Contrastive Learning with Adaptive
Augmentation <https://arxiv.org/abs/2010.14945>`_, Sec. 4.2.1) and the importance scores built
on them.

* degree: :math:`\varphi_d(v) = \deg(v)` on the symmetrised graph;
* PageRank: :math:`\sigma = \alpha A D^{-1} \sigma + (1 - \alpha)\mathbf{1}` (GCA Eq. 7 up to a
  constant factor, which the log-normalised importance ignores; ``k`` power iterations,
  :math:`\alpha = 0.85`). The authors' ``compute_pr`` iterates
  :math:`\sigma \leftarrow (1 - \alpha)\sigma + \alpha A D^{-1}\sigma` instead, a lazy random
  walk without teleport whose fixed point on an undirected graph is proportional to the degree;
  this module follows the paper;
* eigenvector: the leading eigenvector of the symmetrised adjacency, :math:`A x = \lambda_{\max} x`
  (GCA Eq. 8), from ``scipy.sparse.linalg.eigsh``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import to_undirected

from concord.errors import InputError

__all__ = ["CENTRALITIES", "importance", "node_centrality"]

Centrality = Literal["degree", "pagerank", "eigenvector"]
CENTRALITIES: tuple[str, ...] = ("degree", "pagerank", "eigenvector")


def node_centrality(edge_index: Tensor, num_nodes: int, kind: str, *, pagerank_iterations: int = 200) -> Tensor:
    """Centrality :math:`\\varphi_c(v)` of every node, shape ``(N,)``, float32."""
    if kind == "degree":
        und = to_undirected(edge_index, num_nodes=num_nodes)
        return torch.bincount(und[1], minlength=num_nodes).to(torch.float32)
    if kind == "pagerank":
        row, col = edge_index
        deg_out = torch.bincount(row, minlength=num_nodes).to(torch.float32)
        x = torch.ones(num_nodes, dtype=torch.float32, device=edge_index.device)
        for _ in range(pagerank_iterations):
            msg = x[row] / deg_out[row]
            agg = torch.zeros_like(x).index_add_(0, col, msg)
            x = 0.15 + 0.85 * agg
        return x
    if kind == "eigenvector":
        import scipy.sparse as sp
        from scipy.sparse.linalg import eigsh

        und = to_undirected(edge_index, num_nodes=num_nodes).cpu().numpy()
        a = sp.coo_matrix((np.ones(und.shape[1]), (und[0], und[1])), shape=(num_nodes, num_nodes)).tocsr()
        if num_nodes < 3 or a.nnz == 0:
            return torch.ones(num_nodes, dtype=torch.float32, device=edge_index.device)
        # deterministic start vector: eigsh's default one is random
        _, vec = eigsh(a.astype(np.float64), k=1, which="LA", v0=np.ones(num_nodes))
        v = np.abs(vec[:, 0])
        return torch.as_tensor(v, dtype=torch.float32, device=edge_index.device)
    raise InputError(f"centrality must be one of {list(CENTRALITIES)}, got {kind!r}")


def importance(score: Tensor) -> Tensor:
    r"""GCA's normalised importance :math:`w = (s_{\max} - s) / (s_{\max} - \mu_s)` of log-scores
    :math:`s` (Eq. 5 and Eq. 11 before the threshold). High centrality -> low weight -> kept.
    Constant scores give weight 1 everywhere (uniform dropping)."""
    s_max, s_mean = score.max(), score.mean()
    span = s_max - s_mean
    if float(span) <= 1e-12:
        return torch.ones_like(score)
    return (s_max - score) / span
