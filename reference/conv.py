"""Naive conv2d and conv_transpose2d, with their gradients, by explicit loops.

Written straight from the formulas (stride s, padding pad, dilation d, groups;
Cg = C_in / groups input channels per group, Og = C_out / groups outputs):

    conv2d:            y[n, o, i, j] = b[o] + sum_{c < Cg, p, q} w[o, c, p, q]
                                        x[n, (o // Og) Cg + c, i s - pad + p d, j s - pad + q d]
    conv_transpose2d:  each input pixel x[n, c, i, j] adds x[n, c, i, j] w[c, o, p, q] to
                       y[n, (c // Cg) Og + o, i s - pad + p d, j s - pad + q d]

Positions outside the image contribute nothing (zero padding). Every function
takes and returns NumPy arrays and loops in Python; only for tiny shapes.
"""
import numpy as np


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _taps(w, i, j, s, pad, d, h, wd):
    """(p, q, row, col) of every kernel tap of output/input position (i, j) landing inside an h x wd image."""
    for p in range(w.shape[2]):
        for q in range(w.shape[3]):
            r, t = i * s[0] - pad[0] + p * d[0], j * s[1] - pad[1] + q * d[1]
            if 0 <= r < h and 0 <= t < wd:
                yield p, q, r, t


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    s, pad, d = _pair(stride), _pair(padding), _pair(dilation)
    n, cin, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    og = cout // groups
    ho = (h + 2 * pad[0] - d[0] * (kh - 1) - 1) // s[0] + 1
    wo = (wd + 2 * pad[1] - d[1] * (kw - 1) - 1) // s[1] + 1
    y = np.zeros((n, cout, ho, wo), x.dtype)
    for b_ in range(n):
        for o in range(cout):
            first = (o // og) * cg
            for i in range(ho):
                for j in range(wo):
                    total = 0.0 if b is None else b[o]
                    for p, q, r, t in _taps(w, i, j, s, pad, d, h, wd):
                        for c in range(cg):
                            total += w[o, c, p, q] * x[b_, first + c, r, t]
                    y[b_, o, i, j] = total
    return y


def conv2d_backward(x, w, gy, stride=1, padding=0, dilation=1, groups=1):
    """(dx, dw, db) for L with dL/dy = gy: every term of the forward sum sends gy back to its two factors."""
    s, pad, d = _pair(stride), _pair(padding), _pair(dilation)
    n, cin, h, wd = x.shape
    cout, cg, kh, kw = w.shape
    og = cout // groups
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for b_ in range(n):
        for o in range(cout):
            first = (o // og) * cg
            for i in range(gy.shape[2]):
                for j in range(gy.shape[3]):
                    g = gy[b_, o, i, j]
                    for p, q, r, t in _taps(w, i, j, s, pad, d, h, wd):
                        for c in range(cg):
                            gx[b_, first + c, r, t] += w[o, c, p, q] * g
                            gw[o, c, p, q] += x[b_, first + c, r, t] * g
    return gx, gw, gy.sum(axis=(0, 2, 3))


def _transposed_size(x, w, s, pad, d, output_padding):
    extra = _pair(output_padding)
    return tuple((x.shape[2 + a] - 1) * s[a] - 2 * pad[a] + d[a] * (w.shape[2 + a] - 1) + extra[a] + 1
                 for a in (0, 1))


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    s, pad, d = _pair(stride), _pair(padding), _pair(dilation)
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = cin // groups
    ho, wo = _transposed_size(x, w, s, pad, d, output_padding)
    y = np.zeros((n, og * groups, ho, wo), x.dtype)
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    for b_ in range(n):
        for c in range(cin):
            first = (c // cg) * og
            for i in range(h):
                for j in range(wd):
                    for p, q, r, t in _taps(w, i, j, s, pad, d, ho, wo):
                        for o in range(og):
                            y[b_, first + o, r, t] += x[b_, c, i, j] * w[c, o, p, q]
    return y


def conv_transpose2d_backward(x, w, gy, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """(dx, dw, db) for L with dL/dy = gy, from the same scatter loops as the forward."""
    s, pad, d = _pair(stride), _pair(padding), _pair(dilation)
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    cg = cin // groups
    ho, wo = gy.shape[2:]
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for b_ in range(n):
        for c in range(cin):
            first = (c // cg) * og
            for i in range(h):
                for j in range(wd):
                    for p, q, r, t in _taps(w, i, j, s, pad, d, ho, wo):
                        for o in range(og):
                            gx[b_, c, i, j] += gy[b_, first + o, r, t] * w[c, o, p, q]
                            gw[c, o, p, q] += x[b_, c, i, j] * gy[b_, first + o, r, t]
    return gx, gw, gy.sum(axis=(0, 2, 3))
