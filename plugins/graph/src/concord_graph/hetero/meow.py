"""MEOW / AdaMEOW: heterogeneous contrast between a coarse view and meta-path context views."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from concord.errors import InputError
from concord_graph.hetero.meow_encoder import MeowGCN
from concord_graph.hetero.meow_inputs import MeowInputs
from concord_graph.hetero.semantic_attention import SemanticAttention
from concord_graph.nn.sparse_operator import SparseOperator

__all__ = ["MEOW", "MeowOutput"]


@dataclass(frozen=True)
class MeowOutput:
    """Projected, normalised coarse and fine views (what the losses contrast) and the fused
    fine-grained embedding (what the probe reads)."""

    coarse: Tensor
    fine: Tensor
    embedding: Tensor


class MEOW(nn.Module):
    r"""The model of MEOW (Yu & Li 2023, `Heterogeneous Graph Contrastive Learning with Meta-path
    Contexts and Weighted Negative Samples <https://arxiv.org/abs/2212.13847>`_) and AdaMEOW
    (Yu, Ge, Li & Zhou 2024, IEEE TKDE).

    * **Features**: :math:`h_i = \mathrm{ELU}(\mathrm{drop}(W_{\phi(i)} x_i + b))` per node type.
    * **Meta-path contexts**: for meta-path :math:`m = (t_0, t_1, \ldots, t_L = t_0)` the context of
      target :math:`i` is :math:`c^m_i = \sum_{k=1}^{L-1} \mathrm{drop}(W^m_k\,
      \mathrm{mean}_{u \in \mathcal{N}^m_k(i)} h_u)`, :math:`\mathcal{N}^m_k(i)` the type-:math:`t_k`
      nodes reached along the first :math:`k` hops (for ``PAP``: the paper's authors). The view
      input is :math:`\mathrm{ELU}(h_i + c^m_i)`. The authors hand-write this per data set
      (ACM, DBLP, AMiner); here it follows from the meta-path.
    * **Fine-grained views**: the shared GCN (:class:`MeowGCN`) on every meta-path graph, once on
      the view input and once on a masked version (masked target features, masked edges); the
      :math:`2M` L2-normalised results are fused by semantic attention into :math:`z`.
    * **Coarse view**: the same GCN on the target features over the average of the meta-path
      adjacencies.
    * **Projection**: :math:`\tanh(W z + b)`, L2-normalised, for both views.

    Args:
        in_channels: feature size of every node type used (target and context types).
        target: the target node type.
        context_types: per meta-path, the node types of its intermediate positions.
        hidden_channels: feature projection width (default: ``64``).
        out_channels: embedding width (default: ``64``).
        dropout: dropout rate (default: ``0.2``).

    Shapes:
        target features ``(N, F)`` -> embeddings ``(N, out)``.
    """

    def __init__(self, in_channels: dict[str, int], target: str, context_types: list[list[str]], *,
                 hidden_channels: int = 64, out_channels: int = 64, dropout: float = 0.2) -> None:
        super().__init__()
        self.target = target
        self.context_types = [list(c) for c in context_types]
        self.fc = nn.ModuleDict({t: nn.Linear(c, hidden_channels) for t, c in in_channels.items()})
        self.agg = nn.ModuleList(
            nn.ModuleList(nn.Linear(hidden_channels, hidden_channels, bias=False) for _ in types)
            for types in self.context_types
        )
        self.encoder = MeowGCN(hidden_channels, out_channels, out_channels, dropout=dropout)
        self.attention = SemanticAttention(out_channels, dropout=dropout)
        self.project = nn.Linear(out_channels, out_channels)
        self.dropout = nn.Dropout(dropout)

    def _features(self, node_type: str, x: Tensor) -> Tensor:
        return nn.functional.elu(self.dropout(self.fc[node_type](x)))

    def _projected(self, z: Tensor) -> Tensor:
        return nn.functional.normalize(nn.functional.tanh(self.project(z)), dim=1)

    def forward(self, inputs: MeowInputs, masked_x: Tensor, masked_adjacency: list[SparseOperator]) -> MeowOutput:
        if len(masked_adjacency) != len(inputs.views):
            raise InputError(f"need one masked adjacency per meta-path ({len(inputs.views)}), got {len(masked_adjacency)}")
        h_target = self._features(self.target, inputs.x[self.target])
        h_masked = self._features(self.target, masked_x)
        h_type = {t: self._features(t, inputs.x[t]) for types in self.context_types for t in types}
        fine = []
        for m, view in enumerate(inputs.views):
            ctx = 0
            for k, (node_type, mean) in enumerate(view.contexts):
                ctx = ctx + self.dropout(self.agg[m][k](mean @ h_type[node_type]))
            fine.append(self.encoder(nn.functional.elu(h_target + ctx), view.adjacency))
            fine.append(self.encoder(nn.functional.elu(h_masked + ctx), masked_adjacency[m]))
        z = self.attention([nn.functional.normalize(f, dim=1) for f in fine])
        z_coarse = self.encoder(h_target, inputs.coarse)
        return MeowOutput(self._projected(z_coarse), self._projected(z), z)
