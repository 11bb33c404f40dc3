"""Bilinear sampling on the GPU (kernels/sample.cu): grid_sample forward and backward, and the
separable resize behind interpolate.

minigen.functional.sample calls these for CuPy arrays. grid_sample's
gradient to the input is scattered with atomicAdd (so in float32 it may
differ in the last bits from run to run); everything else is a gather.
affine_grid stays a GEMM (cupy.matmul), as on the CPU.
"""
import numpy as np

from . import MAX_BLOCKS, check_index, contiguous, i32, kernel, launch
from .. import backend

OP_GRID = "grid_sample (CUDA)"
OP_RESIZE = "interpolate (CUDA)"


def _scale(n, align_corners):
    """d(pixel coordinate) / d(normalised coordinate) along an axis of n pixels."""
    return (n - 1) / 2 if align_corners else n / 2


def grid_sample(x, grid, align_corners):
    """V (N, C, Ho, Wo): x (N, C, H, W) sampled bilinearly at grid (N, Ho, Wo, 2), zeros outside."""
    cp = backend.cupy()
    x, grid = contiguous(x, grid)
    n, c, h, w = x.shape
    p = grid.shape[1] * grid.shape[2]
    check_index(OP_GRID, x, grid, n * c * p)
    out = cp.empty((n, c) + grid.shape[1:3], x.dtype)
    launch(kernel("sample", OP_GRID, "grid_sample", x.dtype), n * p, (x, grid, out, *i32(n, c, h, w, p, align_corners)))
    return out


def grid_sample_backward(grad, x, grid, align_corners, need_x, need_grid):
    """(dx, dgrid) of grid_sample for output gradient grad, each None unless asked for."""
    cp = backend.cupy()
    grad, x, grid = contiguous(grad, x, grid)
    n, c, h, w = x.shape
    p = grid.shape[1] * grid.shape[2]
    check_index(OP_GRID, x, grid, grad)
    dx = cp.zeros_like(x) if need_x else None  # atomicAdd accumulates into it
    dgrid = cp.empty_like(grid) if need_grid else None
    unused = cp.empty(1, x.dtype)  # stands in for an output not asked for; never written
    scalar = x.dtype.type
    launch(kernel("sample", OP_GRID, "grid_sample_backward", x.dtype), n * p,
           (grad, x, grid, unused if dx is None else dx, unused if dgrid is None else dgrid,
            *i32(n, c, h, w, p, align_corners, need_x, need_grid),
            scalar(_scale(w, align_corners)), scalar(_scale(h, align_corners))))
    return dx, dgrid


def _csr(a, dtype):
    """Row pointers, column indices and values of the non-zeros of a (NumPy), on the GPU."""
    cp = backend.cupy()
    rows, cols = np.nonzero(a)
    pointers = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=a.shape[0]))])
    return (cp.asarray(pointers.astype(np.int32)), cp.asarray(cols.astype(np.int32)),
            cp.asarray(a[rows, cols].astype(dtype)))


class Resize:
    """y = A_h x A_w^T over the last two axes and its adjoint dx = A_h^T g A_w, for the 1-D
    interpolation matrices a_h (Ho, H) and a_w (Wo, W) (NumPy) of minigen.functional.sample,
    stored as their non-zeros (two per row for bilinear, one for nearest)."""

    def __init__(self, a_h, a_w, dtype):
        self.shapes = (a_h.shape, a_w.shape)
        self.tables = _csr(a_h, dtype) + _csr(a_w, dtype)
        self.adjoint_tables = _csr(a_h.T, dtype) + _csr(a_w.T, dtype)

    def forward(self, x):
        (ho, h), (wo, w) = self.shapes
        return _resize(x, (h, w), (ho, wo), self.tables)

    def backward(self, g):
        (ho, h), (wo, w) = self.shapes
        return _resize(g, (ho, wo), (h, w), self.adjoint_tables)


def _resize(x, in_hw, out_hw, tables):
    cp = backend.cupy()
    (x,) = contiguous(x)
    n, c = x.shape[:2]
    check_index(OP_RESIZE, x, n * c * out_hw[0] * out_hw[1])
    y = cp.empty((n, c) + tuple(out_hw), x.dtype)
    threads = min(256, -(-out_hw[1] // 32) * 32)  # one block per output row, its threads along it
    kernel("sample", OP_RESIZE, "resize", x.dtype)(
        (min(n * c * out_hw[0], MAX_BLOCKS),), (threads,), (x, y, *i32(n * c, *in_hw, *out_hw), *tables))
    return y
