r"""``vision.pixel_pairs``: pixels of two views are positive when they lie close in the image."""

from __future__ import annotations

from typing import Any

import torch

from concord.contract import BadInput, SamplerExample
from concord.errors import InputError
from concord.samplers.base import PairContext, PairTile, Sampler
from concord.validation import check_positive

__all__ = ["PixelPairsSampler"]


class PixelPairsSampler(Sampler):
    r"""PixPro's pixel pairs (Xie et al. 2021, `Propagate Yourself
    <https://arxiv.org/abs/2011.10043>`_, Sec. 3.1, Eq. 1):

    .. math::
        A(i, j) = \begin{cases} 1 & \mathrm{id}(i) = \mathrm{id}(j)\ \text{and}\
            \dfrac{\lVert c_i - c_j \rVert_2}{\max(d_i, d_j)} < \mathcal{T} \\
            0 & \text{otherwise} \end{cases}

    where :math:`c_i` is the centre of feature-map bin :math:`i` mapped to the original image,
    :math:`d_i` the diagonal of that bin (so the larger of the two views' bin diagonals
    normalises the distance, as the authors' ``max_bin_diag``) and :math:`\mathcal{T} = 0.7`.
    Pairs with :math:`A = 1` are positive; every other (query, key) pair is a negative -- the far
    pixels of the same image and every pixel of every other image, which is what PixContrast
    (Eq. 2) contrasts against.

    Labels are one row per pixel, ``(image id, x, y, bin diagonal)``, as made by
    :func:`concord_vision.geometry.bin_coordinates` (flips are already resolved there). A tile
    needs only its rows' and columns' labels, so the mask of a large batch is never stored whole.

    Args:
        threshold: :math:`\mathcal{T}`, the largest normalised distance that is still a positive
            (strict ``<``, as in the paper; default: ``0.7``).

    Shapes:
        query_labels ``(N, 4)``, key_labels ``(M, 4)``.
    """

    registry_name = "vision.pixel_pairs"
    needs_labels = "continuous"
    label_width = 4

    def __init__(self, *, threshold: float = 0.7) -> None:
        super().__init__()
        self.threshold = check_positive("threshold", threshold)

    def prepare(self, ctx: PairContext) -> Any:
        for name, labels in (("query_labels", ctx.query_labels), ("key_labels", ctx.key_labels)):
            assert labels is not None
            if labels.shape[0] and bool((labels[:, 3] <= 0).any()):
                raise InputError(f"{name}: the bin diagonal (column 3) must be > 0")
        return None

    def tile(self, ctx: PairContext, state: Any, i0: int, i1: int, j0: int, j1: int) -> PairTile:
        assert ctx.query_labels is not None and ctx.key_labels is not None
        # float64: a pair on the threshold gets one answer whatever dtype the labels came in
        q = ctx.query_labels[i0:i1].to(torch.float64)
        k = ctx.key_labels[j0:j1].to(torch.float64)
        same_image = q[:, None, 0] == k[None, :, 0]
        dist = torch.hypot(q[:, None, 1] - k[None, :, 1], q[:, None, 2] - k[None, :, 2])
        diag = torch.maximum(q[:, None, 3], k[None, :, 3])
        close = same_image & (dist < self.threshold * diag)
        not_self = ~ctx.is_self(i0, i1, j0, j1)
        return PairTile(positive=close & not_self, negative=~close & not_self)

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[SamplerExample]:
        from concord_vision.geometry import bin_coordinates

        boxes_1 = torch.tensor([[0.0, 0.0, 120.0, 90.0], [30.0, 10.0, 230.0, 170.0]])
        boxes_2 = torch.tensor([[60.0, 45.0, 180.0, 135.0], [0.0, 0.0, 240.0, 180.0]])
        ids = torch.tensor([0, 1])
        c1 = bin_coordinates(boxes_1, torch.tensor([False, True]), (3, 3), ids)
        c2 = bin_coordinates(boxes_2, torch.tensor([False, False]), (3, 3), ids)
        z1 = torch.randn(c1.shape[0], 4, generator=generator)
        z2 = torch.randn(c2.shape[0], 4, generator=generator)
        return [
            SamplerExample(init={}, bind={"query": z1, "key": z2, "query_labels": c1, "key_labels": c2}),
            SamplerExample(
                init={"threshold": 1.5},
                bind={"query": z1, "key": z2, "query_labels": c1, "key_labels": c2},
            ),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        z = torch.randn(4, 3, generator=generator)
        good = torch.tensor([[0.0, 1.0, 1.0, 2.0]]).repeat(4, 1)
        zero_diag = good.clone()
        zero_diag[:, 3] = 0
        return [
            BadInput({"threshold": 0.0}, None, "threshold"),
            BadInput({}, (), "needs query_labels", kwargs={"query": z, "key": z}),
            BadInput({}, (), r"shape \(rows, 4\)",
                     kwargs={"query": z, "key": z, "query_labels": good[:, 0], "key_labels": good[:, 0]}),
            BadInput({}, (), "diagonal", kwargs={"query": z, "key": z, "query_labels": zero_diag,
                                                 "key_labels": good}),
        ]
