"""Reference sub-pixel shuffle (Shi et al. 2016): loops over output positions.

    y[n, c, h r + a, w r + b] = x[n, c r^2 + a r + b, h, w]
"""
import numpy as np


def pixel_shuffle(x, r):
    """(N, C r^2, H, W) -> (N, C, H r, W r)."""
    x = np.asarray(x)
    n_, cr2, h_, w_ = x.shape
    y = np.zeros((n_, cr2 // (r * r), h_ * r, w_ * r), x.dtype)
    for c in range(y.shape[1]):
        for hh in range(h_ * r):
            for ww in range(w_ * r):
                (h, a), (w, b) = divmod(hh, r), divmod(ww, r)
                y[:, c, hh, ww] = x[:, c * r * r + a * r + b, h, w]
    return y


def pixel_unshuffle(y, r):
    """(N, C, H r, W r) -> (N, C r^2, H, W), the inverse of pixel_shuffle."""
    y = np.asarray(y)
    n_, c_, hr, wr = y.shape
    x = np.zeros((n_, c_ * r * r, hr // r, wr // r), y.dtype)
    for k in range(x.shape[1]):
        c, (a, b) = k // (r * r), divmod(k % (r * r), r)
        for h in range(x.shape[2]):
            for w in range(x.shape[3]):
                x[:, k, h, w] = y[:, c, h * r + a, w * r + b]
    return x
