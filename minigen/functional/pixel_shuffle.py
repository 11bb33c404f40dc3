"""Sub-pixel rearrangement: pixel_shuffle and its inverse pixel_unshuffle.

The sub-pixel convolution layer (Shi et al. 2016, "Real-Time Single Image and
Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural
Network") ends with the periodic shuffle

    y[n, c, h r + a, w r + b] = x[n, c r^2 + a r + b, h, w],   0 <= a, b < r

which maps (N, C r^2, H, W) to (N, C, H r, W r). It is a permutation of the
elements, so its gradient is the inverse permutation, pixel_unshuffle, and
the other way round.
"""
from ..tensor import Function
from ._args import int_arg


def _shuffle(x, r):
    n, c, h, w = x.shape
    c //= r * r
    # (n, c, a, b, h, w) -> (n, c, h, a, w, b)
    return x.reshape(n, c, r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)


def _unshuffle(y, r):
    n, c, hr, wr = y.shape
    h, w = hr // r, wr // r
    # (n, c, h, a, w, b) -> (n, c, a, b, h, w)
    return y.reshape(n, c, h, r, w, r).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h, w)


class PixelShuffle(Function):
    """y[n, c, h r + a, w r + b] = x[n, c r^2 + a r + b, h, w];  dx = pixel_unshuffle(g)."""
    def forward(self, x):
        return _shuffle(x, self.r)

    def backward(self, g):
        return _unshuffle(g, self.r)


class PixelUnshuffle(Function):
    """x[n, c r^2 + a r + b, h, w] = y[n, c, h r + a, w r + b];  dy = pixel_shuffle(g)."""
    def forward(self, y):
        return _unshuffle(y, self.r)

    def backward(self, g):
        return _shuffle(g, self.r)


def pixel_shuffle(x, upscale_factor):
    """(N, C r^2, H, W) -> (N, C, H r, W r) with r = upscale_factor."""
    r = int_arg("pixel_shuffle", "upscale_factor", upscale_factor, 1)
    if x.ndim != 4 or x.shape[1] % (r * r):
        raise ValueError(f"pixel_shuffle: x must be (N, C*{r}^2, H, W), got shape {tuple(x.shape)}")
    return PixelShuffle.apply(x, r=r)


def pixel_unshuffle(x, downscale_factor):
    """(N, C, H r, W r) -> (N, C r^2, H, W) with r = downscale_factor."""
    r = int_arg("pixel_unshuffle", "downscale_factor", downscale_factor, 1)
    if x.ndim != 4 or x.shape[2] % r or x.shape[3] % r:
        raise ValueError(f"pixel_unshuffle: x must be (N, C, H*{r}, W*{r}), got shape {tuple(x.shape)}")
    return PixelUnshuffle.apply(x, r=r)


__all__ = ["pixel_shuffle", "pixel_unshuffle"]
