"""The GCN encoder of GRACE / GCA / POT, at any depth."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv

from concord.errors import InputError
from concord.validation import check_choice
from concord_graph.nn.normalized_adjacency import normalized_adjacency

__all__ = ["ACTIVATIONS", "GCNEncoder"]

ACTIVATIONS: tuple[str, ...] = ("relu", "prelu", "leaky_relu", "elu")


def _make_activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU(), "prelu": nn.PReLU(), "leaky_relu": nn.LeakyReLU(0.01), "elu": nn.ELU()}[name]


class GCNEncoder(nn.Module):
    r"""A stack of :math:`L` graph convolutions, each followed by the activation (Zhu et al. 2020,
    `GRACE <https://arxiv.org/abs/2006.04131>`_, Sec. 4.1 and the authors' ``Encoder``):

    .. math::
        H^{(l)} = \sigma\!\left(\hat{A} H^{(l-1)} W^{(l)} + b^{(l)}\right), \quad H^{(0)} = X,
        \qquad \hat{A} = \tilde{D}^{-1/2}(A + I)\tilde{D}^{-1/2}.

    Widths: ``in -> hidden -> ... -> hidden -> out`` (GRACE: ``hidden = 2 out``). The layers are
    PyG :class:`~torch_geometric.nn.GCNConv` modules (their ``lin`` and ``bias``); the propagation
    with :math:`\hat{A}`, built once per graph, runs through a
    :class:`~concord_graph.nn.sparse_operator.SparseOperator` (CSR both ways, no torch-sparse),
    which also lets a mini-batch subgraph supply its exact normalisation (``extra_degree``).

    Args:
        in_channels: input feature size.
        out_channels: embedding size.
        hidden_channels: width of the inner layers (default: ``2 * out_channels``).
        num_layers: :math:`L \ge 1` (default: ``2``).
        activation: ``"relu"``, ``"prelu"`` (one learned slope per layer), ``"leaky_relu"``
            (slope 0.01) or ``"elu"`` (default: ``"relu"``). POT needs a piecewise-linear one.
        sparse_input: compute the first layer's :math:`X W^{(1)}` as a sparse product (dense
            features converted on the fly; sparse ones are always used as they are). Same
            result; faster for bag-of-words features such as Cora's (1.3 % non-zero)
            (default: ``False``).

    Shapes:
        x ``(N, in)``, edge_index ``(2, E)``, edge_weight ``(E,)``, extra_degree ``(N,)``
        -> ``(N, out)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        hidden_channels: int | None = None,
        num_layers: int = 2,
        activation: Literal["relu", "prelu", "leaky_relu", "elu"] = "relu",
        sparse_input: bool = False,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise InputError(f"num_layers must be >= 1, got {num_layers}")
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if v < 1:
                raise InputError(f"{name} must be >= 1, got {v}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hidden_channels = 2 * out_channels if hidden_channels is None else hidden_channels
        self.num_layers = num_layers
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        self.sparse_input = bool(sparse_input)
        widths = [in_channels] + [self.hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(
            GCNConv(widths[i], widths[i + 1], normalize=False, add_self_loops=False) for i in range(num_layers)
        )
        self.acts = nn.ModuleList(_make_activation(activation) for _ in range(num_layers))

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()
        for act in self.acts:
            if isinstance(act, nn.PReLU):
                nn.init.constant_(act.weight, 0.25)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_weight: Tensor | None = None,
        *,
        extra_degree: Tensor | None = None,
    ) -> Tensor:
        adj = normalized_adjacency(edge_index, x.shape[0], edge_weight, extra_degree).operator
        h = self.input_product(x)
        for index, (conv, act) in enumerate(zip(self.convs, self.acts)):
            p = h if index == 0 else conv.lin(h)
            h = act(adj @ p + conv.bias)  # = GCNConv(normalize=False)(h, adj)
        return h

    def input_product(self, x: Tensor) -> Tensor:
        """:math:`X W^{(1)}`, the first layer's product (sparse when ``x`` is sparse or
        ``sparse_input`` is set; the gradient reaches :math:`W^{(1)}`, not ``x``, then)."""
        weight = self.convs[0].lin.weight
        if x.layout != torch.strided:
            return torch.sparse.mm(x, weight.t())
        if self.sparse_input:
            return torch.sparse.mm(x.to_sparse(), weight.t())
        return self.convs[0].lin(x)

    def encode(self, data: Data) -> Tensor:
        """Embeddings of a ``Data`` (reads ``edge_weight`` and ``extra_degree`` when present)."""
        return self(
            data.x, data.edge_index,
            data.edge_weight if "edge_weight" in data else None,
            extra_degree=data.extra_degree if "extra_degree" in data else None,
        )

    def layer_parameters(self) -> list[tuple[Tensor, Tensor, nn.Module]]:
        """Per layer ``(W, b, activation)`` with ``W`` of shape ``(in, out)``:
        ``conv(h) = A (h W) + b``."""
        out = []
        for conv, act in zip(self.convs, self.acts):
            out.append((conv.lin.weight.t(), conv.bias, act))
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"hidden_channels={self.hidden_channels}, num_layers={self.num_layers}, "
                f"activation={self.activation!r}{', sparse_input=True' if self.sparse_input else ''})")
