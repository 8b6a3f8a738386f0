"""Shuffled group whitening (WhitenedCSE): several whitened views of one batch."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from concord.augment.base import Augmentation
from concord.contract import AugmentationExample, BadInput
from concord.errors import InputError
from concord.validation import check_embeddings, check_positive

__all__ = ["ShuffledGroupWhitening"]


class ShuffledGroupWhitening(Augmentation):
    r"""Shuffled group whitening (Zhuo et al. 2023, `WhitenedCSE: Whitening-based Contrastive
    Learning of Sentence Embeddings <https://arxiv.org/abs/2305.17746>`_, ACL 2023, Sec. 3):
    the feature dimensions are randomly permuted, split into :math:`G` groups, each group is
    ZCA-whitened over the batch, and the permutation is undone; a different permutation per view
    gives several whitened positives of one batch:

    .. math::
        \hat{X}_g = (X_g - \mu_g)\, \Sigma_g^{-1/2},\qquad
        \Sigma_g = \tfrac{1}{N} (X_g - \mu_g)^\top (X_g - \mu_g),\qquad
        \Sigma_g^{-1/2} = U \Lambda^{-1/2} U^\top

    (ZCA: the symmetric inverse square root, the authors' ``symeig`` engine). Each group of the
    output has identity covariance over the batch; ZCA commutes with permutations, so one group
    (``num_groups=1``) gives the same whitening whatever the shuffle.

    As in the authors' code (``ShuffledGroupWhitening``, training mode) the covariance divides
    by :math:`N` and the whitening matrix is treated as a constant in the backward pass (they
    rebuild it from a detached copy); ``whitening_gradient=True`` differentiates through it.
    Departure: eigenvalues are floored at ``eps`` (default ``1e-5``; the authors have none, so a
    group whose covariance is singular -- fewer samples than dimensions -- gives inf); the
    eigendecomposition runs in float64. The statistics are those of the batch given (under
    ``torchrun``, each process's own batch, as in the authors' DDP training).

    Args:
        n_views: whitened views to make of a ``(N, D)`` batch (default: ``3``, the authors'
            ``num_pos``); a ``(N, V, D)`` input gets one permutation per given view instead.
        num_groups: :math:`G`, must divide ``D`` (default: ``128``, the authors').
        shuffle: permute the dimensions before grouping (default: ``True``).
        eps: eigenvalue floor (default: ``1e-5``).
        whitening_gradient: backpropagate through :math:`\Sigma^{-1/2}` (default: ``False``).

    Shapes:
        x: ``(N, D)`` or ``(N, V, D)``; output ``(N, V, D)``.
    """

    registry_name = "whitening"

    def __init__(
        self,
        *,
        n_views: int = 3,
        num_groups: int = 128,
        shuffle: bool = True,
        eps: float = 1e-5,
        whitening_gradient: bool = False,
    ) -> None:
        for name, v in (("n_views", n_views), ("num_groups", num_groups)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be an integer >= 1, got {v!r}")
        self.n_views, self.num_groups = n_views, num_groups
        self.shuffle = bool(shuffle)
        self.eps = check_positive("eps", eps, allow_zero=True)
        self.whitening_gradient = bool(whitening_gradient)

    def permutations(self, d: int, n_views: int, generator: torch.Generator | None) -> list[Tensor]:
        """One dimension permutation per view, in the order :meth:`apply` draws them."""
        gen_device = generator.device if generator is not None else torch.device("cpu")
        if not self.shuffle:
            return [torch.arange(d) for _ in range(n_views)]
        return [torch.randperm(d, generator=generator, device=gen_device).cpu() for _ in range(n_views)]

    def apply(self, x: Any, generator: torch.Generator | None) -> Tensor:
        x = check_embeddings("x", x, ndim=(2, 3), min_rows=2)
        views = x[:, None].expand(-1, self.n_views, -1) if x.dim() == 2 else x
        _, v, d = views.shape
        if d % self.num_groups:
            raise InputError(f"num_groups={self.num_groups} does not divide the dimension {d}")
        perms = self.permutations(d, v, generator)
        return torch.stack([self._whiten(views[:, i], perms[i].to(x.device)) for i in range(v)], dim=1)

    def _whiten(self, x: Tensor, perm: Tensor) -> Tensor:
        n, d = x.shape
        g = self.num_groups
        xs = x[:, perm].reshape(n, g, d // g).transpose(0, 1)  # (G, N, d)
        xc = xs - xs.mean(dim=1, keepdim=True)
        w = self._inverse_sqrt(xc)
        ys = (xc @ w.to(xc.dtype)).transpose(0, 1).reshape(n, d)
        return ys[:, torch.argsort(perm)]

    def _inverse_sqrt(self, xc: Tensor) -> Tensor:
        """ZCA matrices :math:`U \\Lambda^{-1/2} U^\\top` of the groups' covariances, ``(G, d, d)``."""
        source = xc if self.whitening_gradient else xc.detach()
        cov = source.double().transpose(1, 2) @ source.double() / source.shape[1]
        lam, u = torch.linalg.eigh(cov)
        return (u * lam.clamp_min(self.eps).rsqrt()[:, None, :]) @ u.transpose(1, 2)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[AugmentationExample]:
        x = torch.randn(16, 6, generator=generator) @ torch.randn(6, 6, generator=generator)

        def whitened(inp: Tensor, out: Tensor) -> None:
            assert out.shape == (16, 3, 6)
            for view in out.unbind(dim=1):  # one group: identity covariance
                cov = view.T.double() @ view.double() / 16
                torch.testing.assert_close(cov, torch.eye(6, dtype=torch.float64), atol=1e-3, rtol=0)

        return [
            AugmentationExample(init={"num_groups": 1}, input=x, check=whitened, random=False),
            AugmentationExample(init={"num_groups": 3, "n_views": 2}, input=x),
            AugmentationExample(init={"num_groups": 2}, input=torch.stack([x, x.flip(0)], dim=1)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        return [
            BadInput({"n_views": 0}, None, "n_views"),
            BadInput({"eps": -1.0}, None, "eps"),
            BadInput({"num_groups": 4}, (torch.randn(8, 6),), "does not divide the dimension 6"),
            BadInput({"num_groups": 1}, (torch.randn(1, 6),), "at least 2"),
        ]
