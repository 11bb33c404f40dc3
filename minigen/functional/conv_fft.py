"""Unit-stride correlation through the FFT: the large-kernel path of functional/conv.py.

For a kernel of kH x kW taps, im2col and its GEMM spend kH kW multiply-adds
per input channel, output channel and output pixel. By the convolution
theorem the same correlation costs, per channel pair, one complex product per
frequency of an L x L transform (Mathieu, Henaff & LeCun 2014, "Fast training
of convolutional networks through FFTs"): for 7x7 taps at 28x28 (L = 32)
that is 32 x 17 complex products against 28 x 28 x 49 real ones, the FFTs of
the images costing O(L^2 log L) per channel on top.

On an L x L torus put x at the origin and the kernel rolled back by the
padding, w'[(p - top) mod L, (q - left) mod L] = w[p, q]. Then, with
hats for 2-D real DFTs and * for complex conjugation,

    y[n, o]  = sum_c  irfft( conj(w'^[o, c]) x^[n, c] )   (rows < H_out, columns < W_out)
    dx[n, c] = sum_o  irfft( w'^[o, c] g^[n, o] )          (rows < H, columns < W)
    dw'[o, c] = sum_n irfft( conj(g^[n, o]) x^[n, c] ),     dw[p, q] = dw'[(p - top) mod L, ...]

the correlation, its adjoint and its weight gradient (g the output gradient
at the origin, zero beyond H_out x W_out). These equal the padded
correlation exactly, without wrap-around, when L >= H_out + kH - 1 - top
(every wrapped read lands on a zero), L >= top + the rows of x that the
output reads (all of them are stored) and L >= kH (no two taps share a
place); the same per column. Per frequency,
each sum over channels is one small complex GEMM, batched over the
frequencies: (F, N, C) @ (F, C, O).

Only plain correlations with large kernels on images larger than the kernel
take this path (``suits``); the transforms run in scipy.fft with one worker per
CPU thread, deterministic for a fixed thread count.
"""
import numpy as np

from ..backend import cpu_threads


def _fft():
    """scipy.fft, imported on first use (it adds a good part to minigen's import time)."""
    import scipy.fft
    return scipy.fft


MIN_TAPS = 25  # 5x5 kernels and up: for 3x3 the transforms cost more than the taps they save


def suits(geom, in_hw, out_hw):
    """Does this correlation take the FFT path? A plain one (stride 1, dilation 1, one group,
    0 <= pad < k) with at least MIN_TAPS taps, whose direct multiply-adds per channel pair,
    kH kW H_out W_out, are at least twice the 4 L (L/2 + 1) of the complex products (a 7x7
    kernel on a 7x7 image, one output pixel, stays direct)."""
    (kh, kw), (top, left) = geom.kernel, geom.padding
    if not (geom.stride == (1, 1) and geom.dilation == (1, 1) and geom.groups == 1
            and kh * kw >= MIN_TAPS and 0 <= top < kh and 0 <= left < kw):
        return False
    lh, lw = _size(geom, out_hw, in_hw)[:2]
    return 8 * lh * (lw // 2 + 1) <= kh * kw * out_hw[0] * out_hw[1]


def _size(geom, out_hw, in_hw):
    """(L_rows, L_cols, rows of x read, columns of x read): the torus and the part of x on it."""
    sizes = []
    for o, k, pad, n in zip(out_hw, geom.kernel, geom.padding, in_hw):
        stored = min(n, o + k - 1 - pad)
        sizes.append((_fft().next_fast_len(max(o + k - 1 - pad, pad + stored, k), real=True), stored))
    (lh, sh), (lw, sw) = sizes
    return lh, lw, sh, sw


def _spectrum(a, shape):
    """(N, C, h, w) real -> (F, N, C) complex: the 2-D real DFT of each plane on the torus, frequency-major."""
    n, c = a.shape[:2]
    planes = np.moveaxis(a, (0, 1), (2, 3))  # (h, w, N, C), a view
    return _fft().rfftn(planes, s=shape, axes=(0, 1), workers=cpu_threads()).reshape(-1, n, c)


def _inverse(spec, shape):
    """(F, A, B) complex -> (L_rows, L_cols, A, B) real: the inverse DFT of each (a, b) on the torus."""
    a, b = spec.shape[1:]
    return _fft().irfftn(spec.reshape(shape[0], shape[1] // 2 + 1, a, b), s=shape, axes=(0, 1),
                         workers=cpu_threads())


def _planes(spec, shape, rows, cols, dtype):
    """(F, N, C) complex -> (N, C, rows, cols) real: the inverse DFT, cropped to rows x cols, NCHW."""
    return np.ascontiguousarray(np.moveaxis(_inverse(spec, shape)[:rows, :cols], (2, 3), (0, 1)), dtype=dtype)


def _kernel_spectrum(w, geom, shape):
    """w (O, C, kH, kW) -> (F, C, O): the DFT of the kernel rolled back by the padding."""
    (top, left), (kh, kw) = geom.padding, geom.kernel
    rolled = np.zeros((shape[0], shape[1]) + w.shape[:2], w.dtype)
    rolled[:kh, :kw] = w.transpose(2, 3, 0, 1)  # (kH, kW, O, C)
    rolled = np.roll(rolled, (-top, -left), axis=(0, 1))
    o, c = w.shape[:2]
    return _fft().rfftn(rolled, axes=(0, 1), workers=cpu_threads()).reshape(-1, o, c).transpose(0, 2, 1)


def _weight_grad(spec_g, spec_x, geom, shape, dtype):
    """dw (O, C, kH, kW) from the spectra of the output gradient (F, N, O) and of x (F, N, C)."""
    (top, left), (kh, kw) = geom.padding, geom.kernel
    cross = np.matmul(spec_g.conj().transpose(0, 2, 1), spec_x)  # (F, O, C)
    taps = np.roll(_inverse(cross, shape), (top, left), axis=(0, 1))[:kh, :kw]  # dw[p] = dw'[(p - top) mod L]
    return np.ascontiguousarray(taps.transpose(2, 3, 0, 1), dtype=dtype)


def correlate(x, geom, out_hw, weight=None, grad=None):
    """As conv._gather_gemm: y = corr(x, weight) of size out_hw and/or dw for the output gradient grad."""
    lh, lw, sh, sw = _size(geom, out_hw, x.shape[2:])
    spec_x = _spectrum(x[:, :, :sh, :sw], (lh, lw))
    y = dw = None
    if weight is not None:
        spec_w = _kernel_spectrum(weight, geom, (lh, lw))
        y = _planes(np.matmul(spec_x, spec_w.conj()), (lh, lw), *out_hw, x.dtype)
    if grad is not None:
        dw = _weight_grad(_spectrum(grad, (lh, lw)), spec_x, geom, (lh, lw), x.dtype)
    return y, dw


def adjoint(gy, geom, in_hw, weight=None, x=None):
    """As conv._adjoint: dx = corr^T(gy) onto in_hw (given weight) and/or dw (given x)."""
    lh, lw, sh, sw = _size(geom, gy.shape[2:], in_hw)
    spec_g = _spectrum(gy, (lh, lw))
    dx = dw = None
    if weight is not None:
        spec_w = _kernel_spectrum(weight, geom, (lh, lw))  # (F, C, O)
        stored = _planes(np.matmul(spec_g, spec_w.transpose(0, 2, 1)), (lh, lw), sh, sw, gy.dtype)
        dx = stored
        if (sh, sw) != tuple(in_hw):  # rows and columns of x that no output reads: no gradient
            dx = np.zeros(stored.shape[:2] + tuple(in_hw), gy.dtype)
            dx[:, :, :sh, :sw] = stored
    if x is not None:
        dw = _weight_grad(spec_g, _spectrum(x[:, :, :sh, :sw], (lh, lw)), geom, (lh, lw), gy.dtype)
    return dx, dw
