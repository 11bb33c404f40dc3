"""2-D convolution and transposed convolution (NCHW), computed as GEMMs.

conv2d is the cross-correlation of the NCHW frameworks (LeCun et al. 1998):

    y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x[n, g Cg + c, i s - pad + p d, j s - pad + q d]

with x zero outside the image, Cg = C_in / groups and g = o // (C_out / groups)
the group of output channel o. Output size (per axis)

    H_out = (H + 2 pad - d (k - 1) - 1) // s + 1.

conv_transpose2d is its adjoint (the "deconvolution" of Zeiler et al. 2010; the
size arithmetic follows Dumoulin & Visin 2016, "A guide to convolution
arithmetic"): every input pixel scatters itself times the kernel,

    y[n, g Cg' + o, i s - pad + p d, j s - pad + q d] += x[n, c, i, j] w[c, o, p, q],

    H_out = (H - 1) s - 2 pad + d (k - 1) + output_padding + 1,

with Cg' = C_out / groups and c in group g. output_padding only adds rows and
columns at the bottom/right that no input reaches (bias only), so it must be
smaller than the stride or the dilation.

Implementation (im2col as in Chellapilla et al. 2006, "High performance
convolutional neural networks for document processing"), on raw arrays:

    _gather_gemm   one im2col of an image through a strided view, then GEMMs with
                   it: the correlation with a weight, Y = W @ cols, and/or the
                   weight gradient for an output gradient G, dW = G @ cols^T
    _scatter       the adjoint of the correlation: GEMM, cols = W^T @ G, then
                   col2im, each kernel tap's plane added into a slice of the image

At unit stride the adjoint of a correlation is again a correlation, with the
kernel flipped, its channel axes swapped and padding d (k - 1) - pad; there it
runs as a gather, whose GEMM runs over C_out kH kW (not C_out) and which needs
no col2im pass; one gather of dy then serves both dx and dw. (Where C_out >
2 C_in the scatter's smaller column buffer wins, and it is used instead.)

    conv2d            y = gather(x; w)          dx, dw = adjoint(dy; w, x)
    conv_transpose2d  y = adjoint(x; w)         dx, dw = gather(dy; w, x)

Column buffers are laid out (groups, Cg kH kW, N H_out W_out): dW is one GEMM
per group with the batch folded into its long inner dimension, Y one GEMM per
image and group written straight into the NCHW output (below PER_IMAGE_MIN_PIXELS
output pixels, one GEMM per group and a copy into NCHW). Unit-stride kernels of
5x5 and up take the FFT instead where it is cheaper (conv_fft.py, on NumPy
arrays; the rule is conv_fft.suits). The batch is processed
in chunks so that no column buffer exceeds COLUMN_LIMIT_BYTES (a single image
always goes in one piece). Scratch arrays (columns, the padded image, the
col2im phases) live in a per-thread workspace reused from call to call and
freed by clear_workspace(): the fresh pages of a new large array each cost a
page fault and a zero-fill by the kernel, as much time again as filling them.

On the CPU the memory passes (padding and im2col, the flipped-weight copy, the
bias add) are split over channels between threads (backend.in_threads), so
that they, like the GEMMs, use every core.

For CuPy arrays both primitives run in minigen.cuda.conv (im2col / col2im
kernels around cuBLAS), the adjoint as col2im at every stride.
"""
import math
import threading
from typing import NamedTuple

import numpy as np

from ..backend import array_module, contiguous, in_threads, is_cupy
from ..tensor import Function
from . import conv_fft
from ._args import int_arg, int_pair

# Column buffers on the CPU: a batch whose columns exceed this goes in chunks (the per-image GEMMs are the
# same; a chunk of a 28x28 batch is still several images), which kept the U-Net step of benchmarks/steps.py
# at 1.2x PyTorch's peak memory instead of 1.9x. On the GPU, larger chunks make fewer, larger cuBLAS calls.
COLUMN_LIMIT_BYTES = 32 * 2**20
GPU_COLUMN_LIMIT_BYTES = 512 * 2**20
PER_IMAGE_MIN_PIXELS = 128  # smaller outputs: one GEMM per chunk (per-image products of < 128 columns are slow)
GATHER_MAX_GROWTH = 2  # a unit-stride adjoint onto an image over twice gy's pixels scatters (see _adjoint)

_workspaces = threading.local()  # per thread: {(use, array module, dtype): flat buffer}


def _workspace(use, xp, shape, dtype):
    """An uninitialised scratch array for `use`, valid until the next request for that use in this thread."""
    size, key = math.prod(shape), (use, xp.__name__, str(dtype))
    cache = vars(_workspaces)
    if key not in cache or cache[key].size < size:
        cache.pop(key, None)  # let the old buffer go before the new one is allocated
        cache[key] = xp.empty(size, dtype)
    return cache[key][:size].reshape(shape)


def clear_workspace():
    """Free this thread's scratch arrays (per dtype: a column buffer of about COLUMN_LIMIT_BYTES
    at most, unless one image needs more, and two image-sized buffers)."""
    vars(_workspaces).clear()


class _Geometry(NamedTuple):
    kernel: tuple    # (kH, kW)
    stride: tuple
    dilation: tuple
    padding: tuple   # zeros above and left of the gathered image (negative: rows dropped)
    groups: int

    def extent(self, out_hw):
        """Rows and columns of the padded image read by an output of size out_hw."""
        return tuple((o - 1) * s + d * (k - 1) + 1
                     for o, s, d, k in zip(out_hw, self.stride, self.dilation, self.kernel))

    def flipped(self):
        """The geometry of the adjoint as a correlation (unit stride only)."""
        return self._replace(padding=tuple(d * (k - 1) - p for d, k, p in
                                           zip(self.dilation, self.kernel, self.padding)))


def _flip(w, groups):
    """(A, B / groups, kH, kW) -> (B, A / groups, kH, kW): taps reversed, the two channel axes
    swapped within each group. The kernel of the adjoint correlation; its own inverse."""
    a, bg, kh, kw = w.shape
    w = w.reshape(groups, a // groups, bg, kh, kw)[:, :, :, ::-1, ::-1].transpose(0, 2, 1, 3, 4)
    return w.reshape(groups * bg, a // groups, kh, kw)


def _chunks(n, bytes_per_image):
    """Batch ranges whose column buffer stays under COLUMN_LIMIT_BYTES (at least one image each)."""
    step = max(1, COLUMN_LIMIT_BYTES // max(1, bytes_per_image))
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)]


def _pad_into(out, x, top_left):
    """out[..., r, c] = x[..., r - top, c - left] where that lies in x, 0 elsewhere."""
    (top, left), (h, w), (height, width) = top_left, x.shape[2:], out.shape[2:]
    r0 = min(max(top, 0), height)
    r1 = max(min(top + h, height), r0)
    c0 = min(max(left, 0), width)
    c1 = max(min(left + w, width), c0)
    out[:, :, :r0] = 0
    out[:, :, r1:] = 0
    out[:, :, r0:r1, :c0] = 0
    out[:, :, r0:r1, c1:] = 0
    out[:, :, r0:r1, c0:c1] = x[:, :, r0 - top:r1 - top, c0 - left:c1 - left]


def _columns(x, geom, out_hw):
    """im2col: cols[(c, p, q), (n, i, j)] = x[n, c, i s - top + p d, j s - left + q d] (0 outside x).

    The window of x the output reads is x itself (a view) when it lies inside
    x, else a zero-padded copy in the workspace; the columns are one copy out
    of a strided view of it (any strides of x work, so a non-contiguous input
    needs no contiguous copy first). Both copies are split over channels
    between the CPU threads, each thread padding its channels just before it
    reads them. Shape (groups, Cg kH kW, N H_out W_out). NumPy arrays only.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = geom.kernel, geom.stride, geom.dilation, out_hw
    (top, left), (h, w), (height, width) = geom.padding, x.shape[2:], geom.extent(out_hw)
    n, c = x.shape[:2]
    inside = top <= 0 and left <= 0 and h + top >= height and w + left >= width
    if inside:
        window = x[:, :, -top:height - top, -left:width - left]
    else:
        window = _workspace("window", np, (n, c, height, width), x.dtype)
    cols = _workspace("columns", np, (c, kh, kw, n, ho, wo), x.dtype)

    def build(lo, hi):
        part = window[:, lo:hi]
        if not inside:
            _pad_into(part, x[:, lo:hi], geom.padding)
        bn, bc, bh, bw = part.strides
        cols[lo:hi] = np.lib.stride_tricks.as_strided(
            part, (hi - lo, kh, kw, n, ho, wo), (bc, dh * bh, dw * bw, bn, sh * bh, sw * bw))
    in_threads(build, c, cols)
    return cols.reshape(geom.groups, -1, n * ho * wo)


def _channels_first(y, groups):
    """(N, C, H, W) -> (groups, C / groups, N H W), the GEMM layout of an image or gradient."""
    xp = array_module(y)
    return xp.ascontiguousarray(y.transpose(1, 0, 2, 3)).reshape(groups, y.shape[1] // groups, -1)


def _gather_gemm(x, geom, out_hw, weight=None, grad=None):
    """The two products of one im2col of x (built once per batch chunk):

        y[n, o, i, j]  = sum_{c,p,q} weight[o, c, p, q] x[n, g Cg + c, i s - top + p d, j s - left + q d]
        dw[o, c, p, q] = sum_{n,i,j} grad[n, o, i, j]   x[n, g Cg + c, i s - top + p d, j s - left + q d]

    i.e. the correlation of x with `weight` (C_out, C_in / groups, kH, kW), and
    the gradient of a correlation of x with respect to its weight given the
    output gradient `grad`; each None when not asked for. Per group:
    Y = W @ cols and dW = G @ cols^T, dW summed over the chunks.
    """
    if weight is None and grad is None:
        return None, None
    if is_cupy(x):  # the im2col kernel of kernels/conv.cu
        from ..cuda import conv as kernels
        return kernels.gather_gemm(x, geom, out_hw, weight, grad, GPU_COLUMN_LIMIT_BYTES)
    if conv_fft.suits(geom, x.shape[2:], out_hw):
        return conv_fft.correlate(x, geom, out_hw, weight, grad)
    xp = array_module(x)
    n, c = x.shape[:2]
    g, (kh, kw) = geom.groups, geom.kernel
    y = dw = None
    if weight is not None:
        o = weight.shape[0]
        wmat = weight.reshape(g, o // g, -1)
        y = xp.empty((n, o) + tuple(out_hw), x.dtype)
    if grad is not None:
        dw = xp.zeros((g, grad.shape[1] // g, c // g * kh * kw), x.dtype)
    for lo, hi in _chunks(n, c * kh * kw * out_hw[0] * out_hw[1] * x.itemsize):
        cols = _columns(x[lo:hi], geom, out_hw)
        if weight is not None and out_hw[0] * out_hw[1] >= PER_IMAGE_MIN_PIXELS:
            # one GEMM per image and group, written straight into y
            per_image = cols.reshape(g, cols.shape[1], hi - lo, -1).transpose(2, 0, 1, 3)
            xp.matmul(wmat, per_image, out=y[lo:hi].reshape(hi - lo, g, o // g, -1))
        elif weight is not None:  # small images: one GEMM over the chunk, then its (o, n) -> (n, o) copy
            chunk = xp.matmul(wmat, cols).reshape(g, o // g, hi - lo, -1)
            y[lo:hi].reshape(hi - lo, g, o // g, -1)[...] = chunk.transpose(2, 0, 1, 3)
        if grad is not None:
            dw += xp.matmul(_channels_first(grad[lo:hi], g), cols.transpose(0, 2, 1))
    return y, (None if dw is None else dw.reshape(grad.shape[1], c // g, kh, kw))


def _scatter(gy, w, geom, in_hw):
    """The adjoint of the correlation with w, onto an image of size in_hw:

        gx[n, g Cg + c, i s - top + p d, j s - left + q d] += w[o, c, p, q] gy[n, o, i, j].

    GEMM, cols = W^T (Cg kH kW, Cg_out) @ GY, then col2im, one slice per tap.
    Row r of the padded image is row r // s of phase r % s, so tap p adds its
    plane to rows p d // s ... of phase p d % s: unit-stride slices of a
    phase-major buffer (strided adds are several times slower), whose s x s
    phases are interleaved into gx once at the end.
    """
    xp = array_module(gy)
    g, (kh, kw), (sh, sw), (dh, dw) = geom.groups, geom.kernel, geom.stride, geom.dilation
    (top, left), (h, wd), (n, o), (ho, wo) = geom.padding, in_hw, gy.shape[:2], gy.shape[2:]
    c = w.shape[1] * g
    phase_hw = tuple(-(-max(p + s, e) // st) for p, s, e, st in
                     zip(geom.padding, in_hw, geom.extent((ho, wo)), geom.stride))
    gx = xp.empty((n, c, h, wd), gy.dtype)
    wmat = w.reshape(g, o // g, -1).transpose(0, 2, 1)
    for lo, hi in _chunks(n, c * kh * kw * ho * wo * gy.itemsize):
        cols = _workspace("columns", xp, (g, c // g * kh * kw, (hi - lo) * ho * wo), gy.dtype)
        xp.matmul(wmat, _channels_first(gy[lo:hi], g), out=cols)
        cols = cols.reshape(c, kh, kw, hi - lo, ho, wo)
        phases = _workspace("phases", xp, (sh, sw, c, hi - lo) + phase_hw, gy.dtype)
        phases[...] = 0
        for p in range(kh):
            i0 = p * dh // sh
            for q in range(kw):
                j0 = q * dw // sw
                phases[p * dh % sh, q * dw % sw, :, :, i0:i0 + ho, j0:j0 + wo] += cols[:, p, q]
        target = gx[lo:hi].transpose(1, 0, 2, 3)
        for a in range(sh):
            r0 = (a - top) % sh  # the first row of gx in phase a
            rows = len(range(r0, h, sh))
            for b in range(sw):
                c0 = (b - left) % sw
                columns = len(range(c0, wd, sw))
                target[:, :, r0::sh, c0::sw] = phases[a, b, :, :, (r0 + top) // sh:(r0 + top) // sh + rows,
                                                      (c0 + left) // sw:(c0 + left) // sw + columns]
    return gx


def _adjoint(gy, geom, in_hw, weight=None, x=None):
    """For a correlation y = corr(x, weight) of geometry geom and an output gradient gy:
    dx = corr^T(gy) onto size in_hw (when weight is given) and dw (when x is given)."""
    if is_cupy(gy):  # the col2im kernel of kernels/conv.cu at every stride
        from ..cuda import conv as kernels
        return kernels.adjoint(gy, geom, in_hw, weight, x, GPU_COLUMN_LIMIT_BYTES)
    if conv_fft.suits(geom, in_hw, gy.shape[2:]):
        return conv_fft.adjoint(gy, geom, in_hw, weight, x)
    # At unit stride the adjoint is itself a correlation, a gather over C_out kH kW column rows;
    # the scatter writes C_in kH kW rows and then adds them tap by tap (about twice the memory
    # traffic per row), so it is the cheaper one when C_out > 2 C_in (e.g. RGB -> 64 channels),
    # or when the image is much larger than gy (a "valid" conv: the gather's taps would mostly
    # read the zeros around gy, e.g. a 7x7 kernel on a 1x1 input).
    if (geom.stride == (1, 1) and weight is not None and weight.shape[0] <= 2 * weight.shape[1] * geom.groups
            and in_hw[0] * in_hw[1] <= GATHER_MAX_GROWTH * gy.shape[2] * gy.shape[3]):
        flipped = contiguous(_flip(weight, geom.groups))  # a GEMM operand: copied once, in threads
        gx, gw = _gather_gemm(gy, geom.flipped(), in_hw, weight=flipped, grad=x)
        return gx, (None if gw is None else _flip(gw, geom.groups))
    gx = None if weight is None else _scatter(gy, weight, geom, in_hw)
    gw = None if x is None else _gather_gemm(x, geom, gy.shape[2:], grad=gy)[1]
    return gx, gw


def _add_bias(y, b):
    """y[:, o] += b[o], in place, split over the channels between threads."""
    def add(lo, hi):
        y[:, lo:hi] += b[lo:hi].reshape(1, -1, 1, 1)
    in_threads(add, y.shape[1], y)


class Conv2d(Function):
    """y = conv2d(x, w) + b (formula in the module docstring);  with G = dL/dy:

        dx = the adjoint correlation applied to G (= conv_transpose2d(G, w)),
        dw[o, c, p, q] = sum_{n,i,j} G[n, o, i, j] x[n, g Cg + c, i s - pad + p d, j s - pad + q d],
        db[o] = sum_{n,i,j} G[n, o, i, j].
    """
    def forward(self, x, w, b):
        self.x, self.w = x, w
        y, _ = _gather_gemm(x, self.geom, self.out_hw, weight=w)
        if b is not None:
            _add_bias(y, b)
        return y

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw = _adjoint(g, self.geom, self.x.shape[2:], weight=self.w if need_x else None,
                          x=self.x if need_w else None)
        return gx, gw, (g.sum(axis=(0, 2, 3)) if need_b else None)


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, w) + b (formula in the module docstring), the adjoint of
    conv2d with the same weight;  with G = dL/dy, the adjoint of the adjoint:

        dx = conv2d(G, w)  (no bias),
        dw[c, o, p, q] = sum_{n,i,j} x[n, c, i, j] G[n, g Cg' + o, i s - pad + p d, j s - pad + q d],
        db[o] = sum_{n,i,j} G[n, o, i, j].
    """
    def forward(self, x, w, b):
        self.x, self.w = x, w
        y, _ = _adjoint(x, self.geom, self.out_hw, weight=w)
        if b is not None:
            _add_bias(y, b)
        return y

    def backward(self, g):
        need_x, need_w, need_b = self.needs_input_grad
        gx, gw = _gather_gemm(g, self.geom, self.x.shape[2:], weight=self.w if need_x else None,
                              grad=self.x if need_w else None)
        return gx, gw, (g.sum(axis=(0, 2, 3)) if need_b else None)


# ---- argument checks ---------------------------------------------------------------

def _check(op, x, w, b, groups, transposed):
    """Shapes of x (N, C, H, W), w and b against each other and groups."""
    layout = "(C_in, C_out/groups, kH, kW)" if transposed else "(C_out, C_in/groups, kH, kW)"
    if x.ndim != 4:
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    if w.ndim != 4 or min(w.shape) < 1:
        raise ValueError(f"{op}: weight must be 4-D {layout} with no empty axis, got shape {tuple(w.shape)}")
    c = x.shape[1]
    if c % groups:
        raise ValueError(f"{op}: input channels {c} are not divisible by groups={groups}")
    if not transposed and w.shape[0] % groups:
        raise ValueError(f"{op}: output channels {w.shape[0]} are not divisible by groups={groups}")
    if (w.shape[0] if transposed else w.shape[1] * groups) != c:
        raise ValueError(f"{op}: weight {tuple(w.shape)} {layout} does not fit {c} input channels "
                         f"with groups={groups}")
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    if b is not None and tuple(b.shape) != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},), got {tuple(b.shape)}")


def _check_size(op, x, out_hw):
    if min(out_hw) < 1:
        raise ValueError(f"{op}: output size {tuple(out_hw)} for input {tuple(x.shape)} is empty; "
                         "check kernel size, stride, padding and dilation")


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation, NCHW. x (N, C_in, H, W), w (C_out, C_in / groups, kH, kW),
    b (C_out,) or None; stride, padding, dilation an int or a pair (rows, columns)."""
    groups = int_arg("conv2d", "groups", groups, 1)
    _check("conv2d", x, w, b, groups, transposed=False)
    stride, padding = int_pair("conv2d", "stride", stride, 1), int_pair("conv2d", "padding", padding, 0)
    dilation = int_pair("conv2d", "dilation", dilation, 1)
    geom = _Geometry(tuple(w.shape[2:]), stride, dilation, padding, groups)
    out_hw = tuple((h + 2 * p - e) // s + 1 for h, p, e, s in
                   zip(x.shape[2:], padding, geom.extent((1, 1)), stride))
    _check_size("conv2d", x, out_hw)
    return Conv2d.apply(x, w, b, geom=geom, out_hw=out_hw)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the adjoint of conv2d), NCHW. x (N, C_in, H, W),
    w (C_in, C_out / groups, kH, kW), b (C_out,) or None; output size
    (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1."""
    op = "conv_transpose2d"
    groups = int_arg(op, "groups", groups, 1)
    _check(op, x, w, b, groups, transposed=True)
    stride, padding = int_pair(op, "stride", stride, 1), int_pair(op, "padding", padding, 0)
    dilation = int_pair(op, "dilation", dilation, 1)
    extra = int_pair(op, "output_padding", output_padding, 0)
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{op}: output_padding {extra} must be smaller than stride {stride} "
                         f"or dilation {dilation}")
    geom = _Geometry(tuple(w.shape[2:]), stride, dilation, padding, groups)
    out_hw = tuple((h - 1) * s - 2 * p + e + a for h, s, p, e, a in
                   zip(x.shape[2:], stride, padding, geom.extent((1, 1)), extra))
    _check_size(op, x, out_hw)
    return ConvTranspose2d.apply(x, w, b, geom=geom, out_hw=out_hw)


__all__ = ["conv2d", "conv_transpose2d"]
