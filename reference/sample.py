"""Reference bilinear sampling, affine grids and resizing, straight from the formulas.

Normalised coordinates g in [-1, 1] map to pixel coordinates u (pixel k's
centre at u = k) by u = (g + 1)/2 (n - 1) with align_corners, else
u = ((g + 1) n - 1)/2.
"""
import math

import numpy as np


def _unnormalise(g, n, align_corners):
    return (g + 1) / 2 * (n - 1) if align_corners else ((g + 1) * n - 1) / 2


def _k(d):
    """The bilinear kernel max(0, 1 - |d|)."""
    return max(0.0, 1.0 - abs(d))


def _dk(d):
    """dk/dd: -1 on [0, 1), +1 on [-1, 0), 0 elsewhere (right derivatives at the kinks)."""
    if 0 <= d < 1:
        return -1.0
    if -1 <= d < 0:
        return 1.0
    return 0.0


def grid_sample(x, grid, align_corners=False):
    """V[n,c,i,j] = sum_{h,w} U[n,c,h,w] k(u - w) k(v - h),  k(d) = max(0, 1 - |d|)

    (Jaderberg et al. 2015, eq. 5), (u, v) = grid[n,i,j] in pixel coordinates;
    the sum runs over every input pixel, so outside the image there is nothing to add.
    """
    x, grid = np.asarray(x, np.float64), np.asarray(grid, np.float64)
    n_, c_, h_, w_ = x.shape
    out = np.zeros((n_, c_) + grid.shape[1:3])
    for n in range(n_):
        for i in range(grid.shape[1]):
            for j in range(grid.shape[2]):
                u = _unnormalise(grid[n, i, j, 0], w_, align_corners)
                v = _unnormalise(grid[n, i, j, 1], h_, align_corners)
                for h in range(h_):
                    for w in range(w_):
                        out[n, :, i, j] += x[n, :, h, w] * _k(u - w) * _k(v - h)
    return out


def grid_sample_backward(x, grid, g, align_corners=False):
    """Gradients of sum(G V) from the derivative of the sum above:

        dU[n,c,h,w]   = sum_{i,j} G[n,c,i,j] k(u - w) k(v - h)
        dgrid[n,i,j,0] = du/dx sum_{c,h,w} G[n,c,i,j] U[n,c,h,w] k'(u - w) k(v - h)
        dgrid[n,i,j,1] = dv/dy sum_{c,h,w} G[n,c,i,j] U[n,c,h,w] k(u - w) k'(v - h)
    """
    x, grid, g = (np.asarray(a, np.float64) for a in (x, grid, g))
    n_, c_, h_, w_ = x.shape
    du_dx = (w_ - 1) / 2 if align_corners else w_ / 2
    dv_dy = (h_ - 1) / 2 if align_corners else h_ / 2
    dx, dgrid = np.zeros_like(x), np.zeros_like(grid)
    for n in range(n_):
        for i in range(grid.shape[1]):
            for j in range(grid.shape[2]):
                u = _unnormalise(grid[n, i, j, 0], w_, align_corners)
                v = _unnormalise(grid[n, i, j, 1], h_, align_corners)
                for h in range(h_):
                    for w in range(w_):
                        dx[n, :, h, w] += g[n, :, i, j] * _k(u - w) * _k(v - h)
                        gu = g[n, :, i, j] @ x[n, :, h, w]
                        dgrid[n, i, j, 0] += gu * _dk(u - w) * _k(v - h) * du_dx
                        dgrid[n, i, j, 1] += gu * _k(u - w) * _dk(v - h) * dv_dy
    return dx, dgrid


def _centre(k, n, align_corners):
    """Normalised coordinate of pixel k's centre on an axis of n pixels."""
    if align_corners:
        return -1 + 2 * k / (n - 1) if n > 1 else 0.0
    return (2 * k + 1) / n - 1


def affine_grid(theta, size, align_corners=False):
    """grid[n,i,j] = theta[n] [x_j, y_i, 1]^T with (x_j, y_i) the centre of output pixel (i, j)."""
    theta = np.asarray(theta, np.float64)
    h_, w_ = size[2], size[3]
    out = np.zeros((theta.shape[0], h_, w_, 2))
    for n in range(theta.shape[0]):
        for i in range(h_):
            for j in range(w_):
                p = np.array([_centre(j, w_, align_corners), _centre(i, h_, align_corners), 1.0])
                out[n, i, j] = theta[n] @ p
    return out


def affine_grid_backward(g, align_corners=False):
    """dtheta[n] = sum_{i,j} G[n,i,j] [x_j, y_i, 1] (outer product)."""
    g = np.asarray(g, np.float64)
    n_, h_, w_, _ = g.shape
    dtheta = np.zeros((n_, 2, 3))
    for n in range(n_):
        for i in range(h_):
            for j in range(w_):
                p = np.array([_centre(j, w_, align_corners), _centre(i, h_, align_corners), 1.0])
                dtheta[n] += np.outer(g[n, i, j], p)
    return dtheta


def _neighbours(o, n_in, n_out, mode, align_corners):
    """(input index, weight) pairs that output index o reads along one axis.

    nearest: src = floor(o n_in / n_out).
    bilinear: src = o (n_in - 1)/(n_out - 1) with align_corners (0 if n_out = 1),
    else max((o + 0.5) n_in / n_out - 0.5, 0); weights 1 - l, l on floor(src)
    and floor(src) + 1 (clamped to the last pixel), l = src - floor(src).
    """
    if mode == "nearest":
        return [(o * n_in // n_out, 1.0)]
    if align_corners:
        src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        src = max((o + 0.5) * n_in / n_out - 0.5, 0.0)
    i0 = math.floor(src)
    frac = src - i0
    return [(i0, 1 - frac), (min(i0 + 1, n_in - 1), frac)]


def _taps(i, j, in_hw, out_hw, mode, align_corners):
    """The 4-neighbour formula (1 neighbour for nearest): (h, w, weight) terms of output (i, j)."""
    rows = _neighbours(i, in_hw[0], out_hw[0], mode, align_corners)
    cols = _neighbours(j, in_hw[1], out_hw[1], mode, align_corners)
    return [(h, w, a * b) for h, a in rows for w, b in cols]


def interpolate(x, size, mode="nearest", align_corners=False):
    """y[n,c,i,j] = sum over the neighbours (h, w) of (i, j) of weight x[n,c,h,w]."""
    x = np.asarray(x, np.float64)
    out = np.zeros(x.shape[:2] + tuple(size))
    for i in range(size[0]):
        for j in range(size[1]):
            for h, w, wt in _taps(i, j, x.shape[2:], size, mode, align_corners):
                out[:, :, i, j] += wt * x[:, :, h, w]
    return out


def interpolate_backward(g, in_size, mode="nearest", align_corners=False):
    """dx[n,c,h,w] = sum over outputs (i, j) reading (h, w) of weight g[n,c,i,j]."""
    g = np.asarray(g, np.float64)
    dx = np.zeros(g.shape[:2] + tuple(in_size))
    for i in range(g.shape[2]):
        for j in range(g.shape[3]):
            for h, w, wt in _taps(i, j, in_size, g.shape[2:], mode, align_corners):
                dx[:, :, h, w] += wt * g[:, :, i, j]
    return dx
