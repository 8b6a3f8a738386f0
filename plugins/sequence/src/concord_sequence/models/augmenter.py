"""MCLRec's learnable model augmenter."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from concord.errors import InputError

__all__ = ["MLPAugmenter"]


class MLPAugmenter(nn.Module):
    r"""A small MLP applied to a sequence representation, then L2-normalised (Qin et al. 2023,
    `Meta-optimized Contrastive Learning for Sequential Recommendation
    <https://arxiv.org/abs/2304.07763>`_ (MCLRec), Sec. 3.3, "learnable model augmentation"):

    .. math::
        \tilde h = \frac{g_\phi(h)}{\lVert g_\phi(h) \rVert_2},\quad
        g_\phi = W_3\, \mathrm{GELU}(W_2\, \mathrm{GELU}(W_1 h + b_1) + b_2) + b_3

    Sizes ``hidden -> hidden/2 -> hidden/4 -> hidden`` as the official code's
    ``Extractor([64, 32, 16, 64])``; PyTorch's default initialisation (the official code builds
    it outside the model's ``_init_weights``).
    """

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        if hidden < 4:
            raise InputError(f"MLPAugmenter: hidden must be >= 4, got {hidden}")
        self.net = nn.Sequential(
            nn.Linear(hidden, hidden // 2), nn.GELU(),
            nn.Linear(hidden // 2, hidden // 4), nn.GELU(),
            nn.Linear(hidden // 4, hidden),
        )

    def forward(self, h: Tensor) -> Tensor:
        return F.normalize(self.net(h), dim=-1)
