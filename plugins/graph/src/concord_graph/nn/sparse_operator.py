"""A constant sparse matrix applied to dense features, fast in both directions.

``torch.sparse.mm`` on a CSR matrix is several times faster than on COO on CPU, but its
backward pass transposes the matrix on every call. A graph's propagation matrix is constant
during a step, so :class:`SparseOperator` stores it and its transpose once, in CSR, and a small
autograd function multiplies by the transpose in the backward pass.
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
        coo = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, shape)
        return coo.coalesce().to_sparse_csr()


class _Apply(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, matrix: Tensor, transpose: Tensor) -> Tensor:  # type: ignore[override]
        ctx.transpose = transpose
        return torch.sparse.mm(matrix, x)

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return torch.sparse.mm(ctx.transpose, grad.contiguous()), None, None


@dataclass(frozen=True)
class SparseOperator:
    """A fixed ``(R, C)`` sparse matrix :math:`S` (duplicates summed); ``op @ x`` is :math:`S x`
    with :math:`\\partial / \\partial x = S^\\top \\cdot`. The values carry no gradient."""

    matrix: Tensor
    transpose: Tensor

    @classmethod
    def from_entries(cls, rows: Tensor, cols: Tensor, values: Tensor, shape: tuple[int, int]) -> SparseOperator:
        values = values.detach()
        return cls(_csr(rows, cols, values, shape), _csr(cols, rows, values, (shape[1], shape[0])))

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)  # type: ignore[return-value]

    def __matmul__(self, x: Tensor) -> Tensor:
        return _Apply.apply(x, self.matrix, self.transpose)

    def to_dense(self) -> Tensor:
        return self.matrix.to_dense()
