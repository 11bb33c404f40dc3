"""2-D pooling: avg_pool2d and max_pool2d over NCHW input.

With kernel (kh, kw), stride (sh, sw) and padding (ph, pw), output position
(i, j) reads the window of the padded input starting at (i sh, j sw), and

    Ho = floor((H + 2 ph - kh) / sh) + 1,   Wo likewise.

Both ops loop over the kh*kw kernel taps: tap (a, b) is one strided slice of
the padded input holding, for every output position, the element under that
tap. Backward adds the gradient back through the same slices (within one
slice the positions are distinct, so a slice ``+=`` never collides).
"""
import numpy as np

from ..backend import array_module, in_threads
from ..tensor import Function
from ._args import int_pair


def _taps(kernel, stride, out_hw):
    """Index of the strided slice of the padded input under each kernel tap, in row-major tap order."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    return [(Ellipsis, slice(a, a + sh * (ho - 1) + 1, sh), slice(b, b + sw * (wo - 1) + 1, sw))
            for a in range(kh) for b in range(kw)]


def _pad(x, padding, value):
    ph, pw = padding
    if ph == pw == 0:
        return x
    return array_module(x).pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _crop(xpad, padding):
    ph, pw = padding
    return xpad[..., ph:xpad.shape[2] - ph, pw:xpad.shape[3] - pw]


class _Windows:
    """Shared by the pooling Functions (params kernel, stride, padding): padded and
    output shapes, the tap slices, and the scatter back through them."""

    def _prepare(self, x, fill):
        xpad = _pad(x, self.padding, fill)
        self.pad_shape = xpad.shape
        out_hw = tuple((n + 2 * p - k) // s + 1
                       for n, p, k, s in zip(x.shape[2:], self.padding, self.kernel, self.stride))
        self.out_shape = x.shape[:2] + out_hw
        self.taps = _taps(self.kernel, self.stride, out_hw)
        return xpad

    def _scatter(self, g, tap_grad):
        """dx from per-tap gradients: dxpad[tap slice] += tap_grad(t, lo, hi) for channels lo:hi,
        then crop the padding. Channels are independent, so they are split between threads.
        Windows that tile the input (stride = kernel, no padding, as in VGG) never overlap,
        so each tap's slice is written once and nothing needs to be zeroed or added."""
        xp = array_module(g)
        tiled = self.stride == self.kernel and self.padding == (0, 0)
        tiled = tiled and all(o * k == n for o, k, n in zip(self.out_shape[2:], self.kernel, self.pad_shape[2:]))
        gpad = (xp.empty if tiled else xp.zeros)(self.pad_shape, dtype=g.dtype)

        def run(lo, hi):
            part = gpad[:, lo:hi]
            for t, s in enumerate(self.taps):
                if tiled:
                    part[s] = tap_grad(t, lo, hi)
                else:
                    part[s] += tap_grad(t, lo, hi)
        in_threads(run, gpad.shape[1], gpad)
        return _crop(gpad, self.padding)


class AvgPool2d(_Windows, Function):
    """Average pooling, padding counted as zeros (count_include_pad):

        y[n,c,i,j] = 1/(kh kw) sum_{a<kh, b<kw} xpad[n,c, i sh + a, j sw + b]
        dxpad[n,c, i sh + a, j sw + b] += g[n,c,i,j] / (kh kw)   for every tap (a, b)
    """
    def forward(self, x):
        xp = array_module(x)
        xpad = self._prepare(x, 0)
        out = xp.empty(self.out_shape, dtype=x.dtype)

        def run(lo, hi):
            part, o = xpad[:, lo:hi], out[:, lo:hi]
            o[...] = part[self.taps[0]]
            for s in self.taps[1:]:
                o += part[s]
            xp.divide(o, self.kernel[0] * self.kernel[1], out=o)
        in_threads(run, out.shape[1], out)
        return out

    def backward(self, g):
        g = g / (self.kernel[0] * self.kernel[1])
        return self._scatter(g, lambda t, lo, hi: g[:, lo:hi])


class MaxPool2d(_Windows, Function):
    """Max pooling, padding counted as -inf:

        y[n,c,i,j] = max_{a<kh, b<kw} xpad[n,c, i sh + a, j sw + b]
        dx = g at the window's first maximum (row-major tap order), 0 elsewhere

    Ties are not shared: the whole of g[n,c,i,j] goes to the first maximum, so
    the result is deterministic. Forward keeps only the maxima; backward finds
    the winning tap again by comparing each tap with y (kh kw passes of the
    output's size either way, but no index array and no select per tap). A NaN
    in a window makes its output NaN, and that window passes back no gradient.
    """
    def forward(self, x):
        xp = array_module(x)
        xpad = self._prepare(x, -np.inf)
        out = xp.empty(self.out_shape, dtype=x.dtype)

        def run(lo, hi):
            part, o = xpad[:, lo:hi], out[:, lo:hi]
            o[...] = part[self.taps[0]]
            for s in self.taps[1:]:
                xp.maximum(o, part[s], out=o)
        in_threads(run, out.shape[1], out)
        self.xpad, self.y = xpad, out
        return out

    def backward(self, g):
        xp = array_module(g)
        unclaimed = xp.ones(self.out_shape, dtype=bool)  # windows whose maximum is not yet found

        def tap_grad(t, lo, hi):
            free = unclaimed[:, lo:hi]
            hit = self.xpad[:, lo:hi][self.taps[t]] == self.y[:, lo:hi]
            hit &= free
            xp.logical_xor(free, hit, out=free)  # hit lies within free
            return g[:, lo:hi] * hit
        return self._scatter(g, tap_grad)


def _pool_params(op, x, kernel_size, stride, padding):
    if x.ndim != 4:
        raise ValueError(f"{op}: x must be (N, C, H, W), got shape {tuple(x.shape)}")
    kernel = int_pair(op, "kernel_size", kernel_size)
    stride = kernel if stride is None else int_pair(op, "stride", stride)
    padding = int_pair(op, "padding", padding)
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: need kernel_size >= 1, stride >= 1 and padding >= 0, "
                         f"got {kernel}, {stride}, {padding}")
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel size {kernel}")
    if any(n + 2 * p < k for n, p, k in zip(x.shape[2:], padding, kernel)):
        raise ValueError(f"{op}: kernel {kernel} is larger than the padded input "
                         f"{tuple(x.shape[2:])} + 2 x {padding}")
    return dict(kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Mean over each kernel window (stride defaults to kernel_size; zero padding is counted)."""
    return AvgPool2d.apply(x, **_pool_params("avg_pool2d", x, kernel_size, stride, padding))


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Maximum over each kernel window (stride defaults to kernel_size; padding is -inf)."""
    return MaxPool2d.apply(x, **_pool_params("max_pool2d", x, kernel_size, stride, padding))


__all__ = ["avg_pool2d", "max_pool2d"]
