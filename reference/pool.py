"""Reference 2-D pooling: loops over output positions and window taps.

Output (i, j) reads input rows i sh - ph + a, columns j sw - pw + b for taps
a < kh, b < kw; positions outside the input are padding.
"""
import numpy as np


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _params(kernel_size, stride, padding):
    kernel = _pair(kernel_size)
    return kernel, kernel if stride is None else _pair(stride), _pair(padding)


def _windows(x_shape, kernel_size, stride, padding):
    """Yield (i, j, [(h, w) of the window's taps inside the input, in row-major tap order])."""
    (kh, kw), (sh, sw), (ph, pw) = _params(kernel_size, stride, padding)
    h_, w_ = x_shape[2:]
    for i in range((h_ + 2 * ph - kh) // sh + 1):
        for j in range((w_ + 2 * pw - kw) // sw + 1):
            taps = [(i * sh - ph + a, j * sw - pw + b) for a in range(kh) for b in range(kw)]
            yield i, j, [(h, w) for h, w in taps if 0 <= h < h_ and 0 <= w < w_]


def _out_shape(x_shape, kernel_size, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = _params(kernel_size, stride, padding)
    return tuple(x_shape[:2]) + ((x_shape[2] + 2 * ph - kh) // sh + 1, (x_shape[3] + 2 * pw - kw) // sw + 1)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """y[n,c,i,j] = 1/(kh kw) sum of the window (padding counts as zeros)."""
    x = np.asarray(x, np.float64)
    (kh, kw), _, _ = _params(kernel_size, stride, padding)
    out = np.zeros(_out_shape(x.shape, kernel_size, stride, padding))
    for i, j, window in _windows(x.shape, kernel_size, stride, padding):
        for h, w in window:
            out[:, :, i, j] += x[:, :, h, w] / (kh * kw)
    return out


def avg_pool2d_backward(g, x_shape, kernel_size, stride=None, padding=0):
    """dx[n,c,h,w] = sum over windows containing (h, w) of g[n,c,i,j] / (kh kw)."""
    g = np.asarray(g, np.float64)
    (kh, kw), _, _ = _params(kernel_size, stride, padding)
    dx = np.zeros(x_shape)
    for i, j, window in _windows(x_shape, kernel_size, stride, padding):
        for h, w in window:
            dx[:, :, h, w] += g[:, :, i, j] / (kh * kw)
    return dx


def _argmax(x, n, c, window):
    """The window's first maximum (padding is -inf, so it never wins)."""
    best = window[0]
    for h, w in window[1:]:
        if x[n, c, h, w] > x[n, c, best[0], best[1]]:
            best = (h, w)
    return best


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """y[n,c,i,j] = max of the window."""
    x = np.asarray(x, np.float64)
    out = np.zeros(_out_shape(x.shape, kernel_size, stride, padding))
    for i, j, window in _windows(x.shape, kernel_size, stride, padding):
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                out[n, c, i, j] = x[(n, c) + _argmax(x, n, c, window)]
    return out


def max_pool2d_backward(x, g, kernel_size, stride=None, padding=0):
    """dx[n,c,h,w] = sum over windows whose first maximum is (h, w) of g[n,c,i,j]."""
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    dx = np.zeros_like(x)
    for i, j, window in _windows(x.shape, kernel_size, stride, padding):
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                dx[(n, c) + _argmax(x, n, c, window)] += g[n, c, i, j]
    return dx
