"""SASRec: self-attentive sequential recommendation."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from concord.errors import InputError

__all__ = ["SASRec"]


class _Block(nn.Module):
    """Post-LN transformer block (RecBole's ``TransformerLayer``): attention, dropout, residual,
    LayerNorm; then a GELU feed-forward, dropout, residual, LayerNorm."""

    def __init__(self, hidden: int, heads: int, inner: int, hidden_dropout: float,
                 attn_dropout: float, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.attn_dropout = attn_dropout
        self.drop1 = nn.Dropout(hidden_dropout)
        self.norm1 = nn.LayerNorm(hidden, eps=eps)
        self.ff1 = nn.Linear(hidden, inner)
        self.ff2 = nn.Linear(inner, hidden)
        self.drop2 = nn.Dropout(hidden_dropout)
        self.norm2 = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, length, h = x.shape
        q, k, v = self.qkv(x).view(b, length, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
        att = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.attn_dropout if self.training else 0.0
        )
        att = att.transpose(1, 2).reshape(b, length, h)
        x = self.norm1(x + self.drop1(self.out(att)))
        return self.norm2(x + self.drop2(self.ff2(F.gelu(self.ff1(x)))))


class SASRec(nn.Module):
    r"""SASRec (Kang & McAuley 2018, `Self-Attentive Sequential Recommendation
    <https://arxiv.org/abs/1808.09781>`_): item + learned position embeddings, a stack of causal
    self-attention blocks, and the last position's state as the sequence representation

    .. math::
        h_u = \mathrm{Trm}(E_{s_u} + P)_{|s_u|}, \qquad
        \hat y_{u,i} = h_u^\top e_i, \qquad
        \mathcal{L}_{rec} = -\log \frac{\exp(h_u^\top e_{v})}{\sum_{i=1}^{|\mathcal V|} \exp(h_u^\top e_i)}

    with the prediction layer tied to the item embedding. Training uses the cross-entropy over
    all items of CL4SRec / DuoRec / MCLRec (and RecBole's ``loss_type='CE'``), not the paper's
    binary loss with one sampled negative.

    Layout follows RecBole: inputs left-aligned (position ``j`` holds the ``j``-th item), padding
    ``0`` after them, keys masked where padded and in the future. Id ``n_items + 1`` is the mask
    token of CL4SRec's item mask; it has an embedding but is never a candidate. Departure from
    RecBole's CE loss: the padding id is left out of the softmax (RecBole includes row 0).

    Args:
        n_items: number of items (ids ``1..n_items``).
        max_len: the longest input (default: ``50``).
        hidden: hidden size (default: ``64``).
        layers: transformer blocks (default: ``2``).
        heads: attention heads (default: ``2``).
        inner: feed-forward size (default: ``4 * hidden``).
        hidden_dropout: dropout on embeddings and block outputs (default: ``0.5``).
        attn_dropout: dropout on attention weights (default: ``0.5``).
        layer_norm_eps: LayerNorm epsilon (default: ``1e-12``, RecBole's).
        init_std: normal initialisation std of weights (default: ``0.02``).
        length_buckets: encode a batch in groups of similar length, each cut to its longest
            sequence (default: ``True``). The output is the same as encoding the padded batch
            at once (a causal encoder's last state does not see trailing padding; tested), but
            short sequences stop paying for the longest one's ``max_len`` positions -- on Beauty
            the median training input has 4 items and a batch of 256 is padded to 50.

    Shapes:
        items ``(B, L)`` int64 with ``L <= max_len``, lengths ``(B,)`` -> ``(B, hidden)``.
    """

    def __init__(self, n_items: int, *, max_len: int = 50, hidden: int = 64, layers: int = 2,
                 heads: int = 2, inner: int | None = None, hidden_dropout: float = 0.5,
                 attn_dropout: float = 0.5, layer_norm_eps: float = 1e-12, init_std: float = 0.02,
                 length_buckets: bool = True) -> None:
        super().__init__()
        for name, value in (("n_items", n_items), ("max_len", max_len), ("hidden", hidden),
                            ("layers", layers), ("heads", heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"SASRec: {name} must be an integer >= 1, got {value!r}")
        if hidden % heads:
            raise InputError(f"SASRec: hidden ({hidden}) must be divisible by heads ({heads})")
        for name, p in (("hidden_dropout", hidden_dropout), ("attn_dropout", attn_dropout)):
            if not 0 <= p < 1:
                raise InputError(f"SASRec: {name} must lie in [0, 1), got {p!r}")
        self.n_items = n_items
        self.max_len = max_len
        self.hidden = hidden
        self.mask_token = n_items + 1
        self.init_std = init_std
        self.length_buckets = length_buckets
        self.item_embedding = nn.Embedding(n_items + 2, hidden, padding_idx=0)
        self.position_embedding = nn.Embedding(max_len, hidden)
        self.norm = nn.LayerNorm(hidden, eps=layer_norm_eps)
        self.dropout = nn.Dropout(hidden_dropout)
        self.blocks = nn.ModuleList(
            _Block(hidden, heads, inner or 4 * hidden, hidden_dropout, attn_dropout, layer_norm_eps)
            for _ in range(layers)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=self.init_std)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, items: Tensor, lengths: Tensor) -> Tensor:
        if items.dim() != 2 or lengths.shape != items.shape[:1]:
            raise InputError(f"items must be (B, L) and lengths (B,), got {tuple(items.shape)}, {tuple(lengths.shape)}")
        if items.shape[1] > self.max_len:
            raise InputError(f"inputs have {items.shape[1]} positions but max_len is {self.max_len}")
        if items.shape[0] and (int(lengths.min()) < 1 or int(lengths.max()) > items.shape[1]):
            raise InputError(f"lengths must lie in [1, {items.shape[1]}], got {int(lengths.min())}..{int(lengths.max())}")
        if not self.length_buckets:
            return self._encode(items, lengths)
        # groups of lengths (0, 4], (4, 8], (8, 16], ... each cut to its own longest sequence
        group = torch.ceil(torch.log2(lengths.clamp_min(4).double())).long()
        out = None
        for g in torch.unique(group).tolist():
            idx = torch.nonzero(group == g).flatten()
            width = int(lengths[idx].max())
            h = self._encode(items[idx, :width], lengths[idx])
            if out is None:
                out = h.new_empty(items.shape[0], h.shape[1])
            out = out.index_copy(0, idx, h)
        assert out is not None
        return out

    def _encode(self, items: Tensor, lengths: Tensor) -> Tensor:
        length = items.shape[1]
        pos = torch.arange(length, device=items.device)
        x = self.item_embedding(items) + self.position_embedding(pos)[None]
        x = self.dropout(self.norm(x))
        causal = torch.ones(length, length, dtype=torch.bool, device=items.device).tril()
        # a query may attend to itself and earlier non-padding keys; padded queries attend to
        # position 0 only (their output is never read) so no row is fully masked
        keep = causal[None] & (items > 0)[:, None, :]
        keep[:, :, 0] = True
        mask = keep[:, None]
        for block in self.blocks:
            x = block(x, mask)
        return x[torch.arange(items.shape[0], device=items.device), lengths - 1]

    def item_weights(self) -> Tensor:
        """``(n_items, hidden)``: the candidates' embeddings (ids ``1..n_items``)."""
        return self.item_embedding.weight[1 : self.n_items + 1]

    def scores(self, h: Tensor) -> Tensor:
        """``(B, n_items)`` logits; column ``j`` is item ``j + 1``."""
        return h @ self.item_weights().T
