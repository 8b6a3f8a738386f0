"""A sparse matrix applied to dense features, fast in both directions.

``torch.sparse.mm`` on a CSR matrix is several times faster than on COO on CPU, but its
backward pass transposes the matrix on every call. A graph's propagation matrix is fixed during
a step, so :class:`SparseOperator` stores it and its transpose once, in CSR, and a small
autograd function multiplies by the transpose in the backward pass. The matrix's values may
carry a gradient (a learned ``edge_weight``): it reaches them through the entries they were
built from.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["SparseOperator"]


def _csr(rows: Tensor, cols: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's beta-state notice of CSR tensors
        coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, shape, device=values.device)
        return coo.coalesce().to_sparse_csr()


class _Apply(torch.autograd.Function):
    r""":math:`Y = S X` with :math:`S_{rc} = \sum_{e: (r_e, c_e) = (r, c)} v_e`. Backward:
    :math:`\partial/\partial X = S^\top G` and :math:`\partial/\partial v_e = G_{r_e} \cdot X_{c_e}`
    (a duplicate entry gets the gradient of the sum it is part of)."""

    @staticmethod
    def forward(ctx, x: Tensor, values: Tensor, rows: Tensor, cols: Tensor,  # type: ignore[override]
                matrix: Tensor, transpose: Tensor) -> Tensor:
        ctx.transpose = transpose
        if ctx.needs_input_grad[1]:  # only then is x needed afterwards
            ctx.save_for_backward(x, rows, cols)
        return torch.sparse.mm(matrix, x)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        grad = grad.contiguous()
        grad_x = torch.sparse.mm(ctx.transpose, grad) if ctx.needs_input_grad[0] else None
        grad_values = None
        if ctx.needs_input_grad[1]:
            x, rows, cols = ctx.saved_tensors
            grad_values = (grad[rows] * x[cols]).sum(dim=1)
        return grad_x, grad_values, None, None, None, None


@dataclass(frozen=True)
class SparseOperator:
    """An ``(R, C)`` sparse matrix :math:`S` built from entries ``(rows, cols, values)``
    (duplicates summed); ``op @ x`` is :math:`S x` with :math:`\\partial / \\partial x = S^\\top
    \\cdot` and, when ``values`` requires a gradient, :math:`\\partial / \\partial v_e =
    (\\partial / \\partial y)_{r_e} \\cdot x_{c_e}` for every entry.

    Shapes:
        x ``(C, F)`` -> ``(R, F)``.
    """

    matrix: Tensor
    transpose: Tensor
    rows: Tensor
    cols: Tensor
    values: Tensor

    @classmethod
    def from_entries(cls, rows: Tensor, cols: Tensor, values: Tensor, shape: tuple[int, int]) -> SparseOperator:
        fixed = values.detach()
        return cls(_csr(rows, cols, fixed, shape), _csr(cols, rows, fixed, (shape[1], shape[0])),
                   rows, cols, values)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)  # type: ignore[return-value]

    def __matmul__(self, x: Tensor) -> Tensor:
        return _Apply.apply(x, self.values, self.rows, self.cols, self.matrix, self.transpose)

    def to_dense(self) -> Tensor:
        return self.matrix.to_dense()
