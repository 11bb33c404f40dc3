"""Bilinear sampling and resizing: grid_sample, affine_grid, interpolate.

A normalised coordinate g in [-1, 1] along an axis of n pixels maps to the
pixel coordinate u (pixel k's centre is at u = k) by

    align_corners=True:   u = (g + 1) / 2 (n - 1)     -1 and 1 are the centres of the corner pixels
    align_corners=False:  u = ((g + 1) n - 1) / 2     -1 and 1 are the outer edges of the corner pixels

affine_grid produces the normalised centres of its output pixels, so with
the identity theta and the same align_corners grid_sample returns its input.
For CuPy arrays grid_sample and interpolate run in the kernels of
minigen.cuda.sample; affine_grid stays a GEMM on either device.
"""
import math
import numbers
import operator

import numpy as np

from ..backend import device_of, is_cupy, to_device
from ..tensor import Function
from ._args import int_pair


def _unnormalise(g, n, align_corners):
    """Pixel coordinate of normalised g, and the constant du/dg."""
    if align_corners:
        return (g + 1) * ((n - 1) / 2), (n - 1) / 2
    return ((g + 1) * n - 1) / 2, n / 2


def _centres(n, align_corners):
    """Normalised coordinates of the n pixel centres (the inverse of _unnormalise); 0 for n = 1."""
    k = np.arange(n, dtype=np.float64)
    if align_corners:
        return -1 + 2 * k / (n - 1) if n > 1 else np.zeros(1)
    return (2 * k + 1) / n - 1


def _bilinear_taps(u, v, h, w):
    """The four neighbours (floor(u) + {0,1}, floor(v) + {0,1}) of each sample point, as (N, P, 4) arrays:
    flat index y w + x into the image, weight k(u - x) k(v - y) and its derivatives in u and in v
    (k(d) = 1 - |d| on the tap's side, right derivatives at integers). A neighbour outside the image
    gets weight 0 (its index clipped into the image), which is exactly zero padding. NumPy arrays."""
    def axis(t, n):
        """Per axis: the clipped indices of floor(t) and floor(t) + 1, their weights 1 - f and f
        (0 outside) and their inside masks."""
        t0 = np.floor(t)
        f, i0 = t - t0, t0.astype(np.int64)
        inside = ((i0 >= 0) & (i0 < n)).astype(t.dtype), ((i0 >= -1) & (i0 < n - 1)).astype(t.dtype)
        return (np.clip(i0, 0, n - 1), np.clip(i0 + 1, 0, n - 1)), ((1 - f) * inside[0], f * inside[1]), inside
    (x0, x1), (wx0, wx1), (mx0, mx1) = axis(u, w)
    (y0, y1), (wy0, wy1), (my0, my1) = axis(v, h)
    y0, y1 = y0 * w, y1 * w
    index = np.stack([y0 + x0, y0 + x1, y1 + x0, y1 + x1], axis=-1)
    weight = np.stack([wy0 * wx0, wy0 * wx1, wy1 * wx0, wy1 * wx1], axis=-1)
    du = np.stack([-wy0 * mx0, wy0 * mx1, -wy1 * mx0, wy1 * mx1], axis=-1)
    dv = np.stack([-wx0 * my0, -wx1 * my0, wx0 * my1, wx1 * my1], axis=-1)
    return index, weight, du, dv


def _interpolation(idx, weight, size):
    """The sampling as one sparse matrix over the batch: rows (n, p), columns (n, pixel), the four
    taps of point p in row (n, p). A CSR matrix built in place (its rows are already in order), so
    that V = S U and dU = S^T G are each one pass in C, with no scatter index per channel."""
    import scipy.sparse
    n, p, taps = idx.shape
    columns = (idx + (np.arange(n) * size)[:, None, None]).reshape(-1)
    rows = np.arange(0, n * p * taps + 1, taps)
    return scipy.sparse.csr_matrix((weight.reshape(-1), columns, rows), shape=(n * p, n * size))


def _pixels_last(a):
    """(N, C, ...) -> (N * prod(...), C): the dense operand of the sparse products."""
    n, c = a.shape[:2]
    return np.ascontiguousarray(a.reshape(n, c, -1).transpose(0, 2, 1)).reshape(-1, c)


def _channels_back(a, n):
    """(N * P, C) -> (N, C, P)."""
    return np.ascontiguousarray(a.reshape(n, -1, a.shape[1]).transpose(0, 2, 1))


class GridSample(Function):
    """Bilinear sampling with zero padding, the sampler of the spatial transformer
    (Jaderberg et al. 2015, "Spatial Transformer Networks", eq. 5):

        V[n,c,i,j] = sum_{h,w} U[n,c,h,w] k(u - w) k(v - h),   k(d) = max(0, 1 - |d|)

    where (u, v) is grid[n,i,j] = (x, y) in pixel coordinates. Only the four
    neighbours of (u, v) have non-zero weight; those outside the image read 0.
    On the CPU the weights form one sparse matrix S (``_interpolation``), V = S U:

        dU[n,c,h,w] = sum_{i,j} G[n,c,i,j] k(u - w) k(v - h)                 (S^T G)
        du[n,i,j]   = sum_{c,h,w} G[n,c,i,j] U[n,c,h,w] k'(u - w) k(v - h)     (likewise dv; S' U)
        dgrid[..., 0] = du du/dx,  du/dx = (W - 1)/2 (align_corners) or W/2;  likewise y

    with k'(d) = -sign(d) on |d| < 1 (right derivatives at the integer kinks).
    """
    def forward(self, x, grid):
        if is_cupy(x):  # kernels/sample.cu
            from ..cuda import sample as kernels
            self.x, self.grid = x, grid
            return kernels.grid_sample(x, grid, self.align_corners)
        n, c, h, w = x.shape
        self.x_shape, self.grid_shape = x.shape, grid.shape
        u, self.du_dx = _unnormalise(grid[..., 0].reshape(n, -1), w, self.align_corners)
        v, self.dv_dy = _unnormalise(grid[..., 1].reshape(n, -1), h, self.align_corners)
        idx, weight, self.du, self.dv = _bilinear_taps(u.astype(x.dtype), v.astype(x.dtype), h, w)
        self.sampling = _interpolation(idx, weight, h * w)
        self.x_rows = _pixels_last(x)  # (N H W, C): the grid gradient reads the input again
        return _channels_back(self.sampling @ self.x_rows, n).reshape(n, c, *grid.shape[1:3])

    def backward(self, g):
        if is_cupy(g):
            from ..cuda import sample as kernels
            return kernels.grid_sample_backward(g, self.x, self.grid, self.align_corners, *self.needs_input_grad)
        n, c = self.x_shape[:2]
        g_rows = _pixels_last(g)  # (N P, C)
        dx = dgrid = None
        if self.needs_input_grad[0]:
            dx = _channels_back(self.sampling.T @ g_rows, n).reshape(self.x_shape)
        if self.needs_input_grad[1]:
            s = self.sampling
            slopes = []
            for d, scale in ((self.du, self.du_dx), (self.dv, self.dv_dy)):
                ds = s.__class__((d.reshape(-1), s.indices, s.indptr), shape=s.shape)  # same taps, k' k weights
                per_channel = ds @ self.x_rows * g_rows  # G dV/du, (N P, C)
                slopes.append(per_channel @ np.ones(c, g.dtype) * scale)  # its sum over the channels
            dgrid = np.stack(slopes, axis=-1).astype(g.dtype, copy=False).reshape(self.grid_shape)
        return dx, dgrid


class AffineGrid(Function):
    """The sampling grid of an affine transform, a GEMM over the base grid:

        grid[n,i,j] = theta[n] [x_j, y_i, 1]^T,   i.e.  grid[n] = B theta[n]^T
        dtheta[n]   = G[n]^T B

    where B is the (H W, 3) matrix of rows [x_j, y_i, 1], (x_j, y_i) the
    normalised centre of output pixel (i, j).
    """
    def forward(self, theta):
        n, h, w = theta.shape[0], self.size[2], self.size[3]
        y, x = np.meshgrid(_centres(h, self.align_corners), _centres(w, self.align_corners), indexing="ij")
        base = np.stack([x.ravel(), y.ravel(), np.ones(h * w)], axis=1)
        self.base = to_device(base.astype(theta.dtype), device_of(theta))
        return (self.base @ theta.transpose(0, 2, 1)).reshape(n, h, w, 2)

    def backward(self, g):
        return g.reshape(g.shape[0], -1, 2).transpose(0, 2, 1) @ self.base


def _nearest_matrix(n_in, n_out):
    """A[o, floor(o n_in / n_out)] = 1 (integer arithmetic, so exact)."""
    a = np.zeros((n_out, n_in))
    o = np.arange(n_out)
    a[o, o * n_in // n_out] = 1
    return a


def _linear_matrix(n_in, n_out, align_corners):
    """Row o holds the weights 1 - l, l of input pixels i0, i0 + 1 (clamped) at src = i0 + l:

        align_corners=True:   src = o (n_in - 1) / (n_out - 1)       (0 when n_out = 1)
        align_corners=False:  src = max((o + 0.5) n_in / n_out - 0.5, 0)
    """
    o = np.arange(n_out)
    if align_corners:
        src = o * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    else:
        src = np.maximum((o + 0.5) * (n_in / n_out) - 0.5, 0)
    i0 = np.floor(src).astype(np.int64)
    frac = src - i0
    a = np.zeros((n_out, n_in))
    a[o, i0] = 1 - frac
    a[o, np.minimum(i0 + 1, n_in - 1)] += frac
    return a


class Interpolate(Function):
    """Separable resize: each axis is a 1-D interpolation, a small (out, in) matrix
    (nearest: one 1 per row; bilinear: the two weights of the 2-neighbour formula), so

        y = A_h x A_w^T   (over the last two axes)
        dx = A_h^T g A_w  (the exact adjoint)
    """
    def forward(self, x):
        (h, w), (ho, wo) = x.shape[2:], self.size
        if self.mode == "nearest":
            a_h, a_w = _nearest_matrix(h, ho), _nearest_matrix(w, wo)
        else:
            a_h, a_w = _linear_matrix(h, ho, self.align_corners), _linear_matrix(w, wo, self.align_corners)
        if is_cupy(x):  # a gather kernel over the matrices' non-zeros (kernels/sample.cu)
            from ..cuda.sample import Resize
            self.resize = Resize(a_h, a_w, x.dtype)
            return self.resize.forward(x)
        self.a_h, self.a_w = (to_device(a.astype(x.dtype), device_of(x)) for a in (a_h, a_w))
        return self.a_h @ (x @ self.a_w.T)

    def backward(self, g):
        if is_cupy(g):
            return self.resize.backward(g)
        return self.a_h.T @ (g @ self.a_w)


def grid_sample(x, grid, align_corners=False):
    """Sample x (N, C, H, W) bilinearly at grid (N, Ho, Wo, 2) of normalised (x, y); zeros outside."""
    if x.ndim != 4 or grid.ndim != 4 or grid.shape[3] != 2 or grid.shape[0] != x.shape[0]:
        raise ValueError(f"grid_sample: need x (N, C, H, W) and grid (N, Ho, Wo, 2), "
                         f"got {tuple(x.shape)} and {tuple(grid.shape)}")
    return GridSample.apply(x, grid, align_corners=bool(align_corners))


def affine_grid(theta, size, align_corners=False):
    """Grid (N, H, W, 2) of theta[n] applied to the output pixel centres, for size (N, C, H, W)."""
    try:
        size = tuple(operator.index(n) for n in size)
    except TypeError:
        raise TypeError(f"affine_grid: size must be a sequence of ints (N, C, H, W), got {size!r}") from None
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(f"affine_grid: theta must be (N, 2, 3), got shape {tuple(theta.shape)}")
    if len(size) != 4 or size[0] != theta.shape[0] or min(size) < 1:
        raise ValueError(f"affine_grid: size must be (N, C, H, W) with N = {theta.shape[0]} "
                         f"and positive sizes, got {size}")
    return AffineGrid.apply(theta, size=size, align_corners=bool(align_corners))


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Resize x (N, C, H, W) to ``size`` (int or pair) or by ``scale_factor`` (number or pair).

    Along each axis output index dst reads source coordinate src:
      nearest:                  src = floor(dst in / out)
      bilinear, align_corners:  src = dst (in - 1) / (out - 1)
      bilinear (default):       src = max((dst + 0.5) in / out - 0.5, 0)
    A scale factor only sets the output size, floor(in * scale); sampling then
    uses in / out, exactly as if that size had been given.
    """
    if x.ndim != 4:
        raise ValueError(f"interpolate: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"interpolate: mode must be 'nearest' or 'bilinear', got {mode!r}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners applies only to mode='bilinear'")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    if size is not None:
        out = int_pair("interpolate", "size", size)
    else:
        scale = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * 2
        if len(scale) != 2 or not all(isinstance(s, numbers.Real) and s > 0 for s in scale):
            raise ValueError(f"interpolate: scale_factor must be a positive number or pair, got {scale_factor!r}")
        out = tuple(math.floor(n * s) for n, s in zip(x.shape[2:], scale))
    if min(out) < 1:
        raise ValueError(f"interpolate: output size {out} from input {tuple(x.shape[2:])} is empty")
    return Interpolate.apply(x, size=out, mode=mode, align_corners=bool(align_corners))


__all__ = ["grid_sample", "affine_grid", "interpolate"]
