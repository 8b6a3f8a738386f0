r"""``vision.pixpro``: pixel-to-propagation consistency over PixPro's positive pixel pairs."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord import distributed
from concord.contract import BadInput, LossExample
from concord.errors import InputError
from concord.losses.base import Loss
from concord.validation import check_embeddings, check_positive
from concord_vision.pairs.pixel_pairs import PixelPairsSampler

__all__ = ["PixProLoss"]

_EPS = 1e-6  # the authors' guard for an image without positive pairs


class PixProLoss(Loss):
    r"""Pixel-to-propagation consistency (Xie et al. 2021, `Propagate Yourself
    <https://arxiv.org/abs/2011.10043>`_, Eq. 5), one direction:

    .. math::
        \mathcal{L} = -\frac{2}{B} \sum_{b=1}^{B} \frac{1}{|P_b| + \epsilon}
            \sum_{(i, j) \in P_b} \cos(y_i, x'_j)

    where :math:`y_i` is the propagated feature of pixel :math:`i` of the first view (the output
    of :class:`concord_vision.nn.PixelPropagation`), :math:`x'_j` the momentum encoder's feature
    of pixel :math:`j` of the second view, :math:`P_b` the positive pairs of image :math:`b`
    (:class:`concord_vision.pairs.PixelPairsSampler`, threshold :math:`\mathcal{T}`) and
    :math:`\epsilon = 10^{-6}`. The model adds the other direction,
    :math:`\mathcal{L}(y^{(2)}, x'^{(1)})`, giving Eq. 5's
    :math:`-\cos(y_i, x'_j) - \cos(y_j, x_i)`.

    This is the normalisation of the authors' ``regression_loss`` (zdaxie/PixPro): a mean over the
    positive pairs of each image, then over images, where an image whose crops share no pixel
    adds 0; the factor 2 is theirs too (the gradient of BYOL's :math:`2 - 2\cos`). Eq. 5 itself
    leaves the normalisation unstated.

    Args:
        threshold: :math:`\mathcal{T}` of the pixel pairs (default: ``0.7``).
        global_mean: average over the images of every process
            (:func:`concord.distributed.global_mean`), so that with
            :func:`concord.distributed.scale_for_ddp` the gradient equals the single-process one
            on the global batch, uneven batches included (default: ``False``).
        block_size: query pixels per block of the pair mask (default: ``None``: one block).

    Shapes:
        propagated ``(N, D)``, target ``(M, D)``, query_coords ``(N, 4)``, key_coords ``(M, 4)``
        (rows ``(image id, x, y, bin diagonal)``, :func:`concord_vision.geometry.bin_coordinates`)
        -> scalar.
    """

    registry_name = "vision.pixpro"
    invariances = ("permutation", "scale")
    half_precision = ("bf16", "fp16")

    def __init__(
        self, *, threshold: float = 0.7, global_mean: bool = False, block_size: int | None = None
    ) -> None:
        super().__init__()
        self.threshold = check_positive("threshold", threshold)
        self.global_mean = bool(global_mean)
        if block_size is not None and (
            isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1
        ):
            raise InputError(f"block_size must be None or an integer >= 1, got {block_size!r}")
        self.block_size = block_size
        self._pairs = PixelPairsSampler(threshold=threshold)

    def forward(
        self, propagated: Tensor, target: Tensor, query_coords: Tensor, key_coords: Tensor
    ) -> Tensor:
        check_embeddings("propagated", propagated)
        check_embeddings("target", target)
        pairs = self._pairs.bind(propagated, target, query_labels=query_coords, key_labels=key_coords)
        y = nn.functional.normalize(propagated.float(), dim=1)
        x = nn.functional.normalize(target.float(), dim=1)
        images, image_of_row = torch.unique(pairs.ctx.query_labels[:, 0], return_inverse=True)
        cos_sum = y.new_zeros(images.shape[0])
        pair_count = y.new_zeros(images.shape[0])
        n = int(y.shape[0])
        block = n if self.block_size is None else self.block_size
        for i0 in range(0, n, block):
            i1 = min(i0 + block, n)
            positive = pairs.tile(i0, i1, 0, int(x.shape[0])).positive
            cos = y[i0:i1] @ x.T
            rows = image_of_row[i0:i1]
            cos_sum = cos_sum.index_add(0, rows, (cos * positive).sum(dim=1))
            pair_count = pair_count.index_add(0, rows, positive.sum(dim=1).to(y.dtype))
        per_image = cos_sum / (pair_count + _EPS)
        if self.global_mean:
            return -2.0 * distributed.global_mean(per_image.sum(), per_image.shape[0])
        return -2.0 * per_image.mean()

    @classmethod
    def examples(cls, generator: torch.Generator) -> list[LossExample]:
        from concord_vision.geometry import bin_coordinates

        # bins of 40 x 30 and 60 x 80 px: centres and diagonals (50, 100) are integers that
        # fp16 and bf16 hold exactly, so the half-precision check compares the same pairs
        boxes_1 = torch.tensor([[0.0, 0.0, 120.0, 90.0], [60.0, 0.0, 240.0, 240.0]])
        boxes_2 = torch.tensor([[40.0, 30.0, 160.0, 120.0], [0.0, 60.0, 180.0, 300.0]])
        ids = torch.tensor([3, 8])
        c1 = bin_coordinates(boxes_1, torch.tensor([False, True]), (3, 3), ids).float()
        c2 = bin_coordinates(boxes_2, torch.tensor([True, False]), (3, 3), ids).float()
        y = torch.randn(18, 8, generator=generator)
        x = y + 0.5 * torch.randn(18, 8, generator=generator)
        return [
            LossExample(init={}, args=(y, x, c1, c2), grad_args=(0, 1), scale_args=(0, 1)),
            LossExample(init={"threshold": 1.0, "block_size": 5}, args=(y, x, c1, c2),
                        grad_args=(0, 1), scale_args=(0, 1)),
            LossExample(init={"global_mean": True}, args=(y, x, c1, c2), grad_args=(0, 1),
                        scale_args=(0, 1)),
        ]

    @classmethod
    def bad_inputs(cls, generator: torch.Generator) -> list[BadInput]:
        y = torch.randn(4, 3, generator=generator)
        c = torch.tensor([[0.0, 1.0, 1.0, 2.0]]).repeat(4, 1)
        return [
            BadInput({"threshold": -1.0}, None, "threshold"),
            BadInput({"block_size": 0}, None, "block_size"),
            BadInput({}, (y, y, c[:, :3], c), r"shape \(rows, 4\)", why="coordinates need 4 columns"),
            BadInput({}, (y, y, c[:3], c), "3 entries but the batch has 4"),
            BadInput({}, (y, y[:, :2], c, c), "dimensions differ"),
        ]
