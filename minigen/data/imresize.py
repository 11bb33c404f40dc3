"""MATLAB-compatible ``imresize`` (bicubic and Lanczos-3) for float images.

SR papers build their low-resolution inputs and bicubic baselines with
MATLAB's ``imresize(img, scale, 'bicubic')``; PSNR tables are only
comparable when the same resampling is used. This follows MATLAB's
documented algorithm:

- output size ``ceil(scale * N)`` per axis (or the size asked for, in which
  case ``scale = out / in`` per axis);
- output pixel i (1-based) maps to input coordinate u = i / s + (1 - 1/s) / 2;
- the cubic kernel of Keys (1981) with a = -0.5,

      k(x) = 1.5|x|^3 - 2.5|x|^2 + 1            |x| <= 1
             -0.5|x|^3 + 2.5|x|^2 - 4|x| + 2    1 < |x| <= 2,

  or Lanczos-3, k(x) = sinc(x) sinc(x / 3) for |x| < 3;
- when shrinking (s < 1) the kernel is stretched to antialias:
  h(x) = s k(s x), with a support 1/s times wider;
- taps at left = floor(u - width / 2) + 0 .. ceil(width) + 1, their weights
  normalised to sum to one, indices outside the image mirrored
  symmetrically (..., 2, 1 | 1, 2, ..., N | N, N-1, ...), and tap columns
  whose weights are all zero dropped;
- separable: one axis after the other, the axis with the smaller scale
  first (so shrinking happens before enlarging).

Each axis is done as a gather of its (out, taps) indices and a weighted sum,
vectorised over the other axes. Input is HW or HWC, any float dtype (kept);
no rounding is done (MATLAB rounds only integer images).
"""
import math

import numpy as np


def _cubic(x):
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def _lanczos3(x):
    # MATLAB's form: the eps terms give k(0) = 1 without a division by zero.
    eps = np.finfo(np.float64).eps
    return (np.sin(np.pi * x) * np.sin(np.pi * x / 3) + eps) / (np.pi ** 2 * x * x / 3 + eps) * (np.abs(x) < 3)


KERNELS = {"cubic": (_cubic, 4.0), "lanczos3": (_lanczos3, 6.0)}


def contributions(in_length, out_length, scale, kernel="cubic", antialias=True):
    """(weights, indices), each (out_length, taps): output i = sum_t weights[i, t] * input[indices[i, t]].

    Indices are 0-based and already mirrored into [0, in_length); float64 weights sum to one per row.
    """
    fn, width = KERNELS[kernel]
    if scale < 1 and antialias:
        h = lambda x: scale * fn(scale * x)  # noqa: E731
        width = width / scale
    else:
        h = fn
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # 1-based, may fall outside the image
    weights = h(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


def _resize_axis(img, axis, out_length, scale, kernel, antialias):
    weights, indices = contributions(img.shape[axis], out_length, scale, kernel, antialias)
    moved = np.moveaxis(img, axis, 0)  # (in, ...)
    gathered = moved[indices]  # (out, taps, ...)
    w = weights.astype(img.dtype).reshape(weights.shape + (1,) * (moved.ndim - 1))
    return np.moveaxis((gathered * w).sum(axis=1), 0, axis)


def output_size(shape, scale):
    """MATLAB's output size: ceil(scale * N) per axis (rounding float noise such as 3 * (1/3) * 255 first)."""
    return tuple(int(math.ceil(round(scale * n, 9))) for n in shape)


def imresize(img, scale=None, output_shape=None, kernel="cubic", antialias=True):
    """Resize an HW or HWC float image like MATLAB's ``imresize(img, scale, 'bicubic')``.

    Give ``scale`` (a number, the same for both axes) or ``output_shape``
    ``(H, W)``. ``kernel`` is 'cubic' (MATLAB's bicubic) or 'lanczos3'.
    The result keeps the input's float dtype (computed in it; pass float64
    for MATLAB's double precision) and is not clipped.
    """
    img = np.asarray(img)
    if img.dtype.kind != "f":
        raise TypeError(f"imresize: expected a float image, not {img.dtype}")
    if img.ndim not in (2, 3):
        raise ValueError(f"imresize: expected an HW or HWC image, got shape {img.shape}")
    if kernel not in KERNELS:
        raise ValueError(f"imresize: kernel must be one of {sorted(KERNELS)}, not {kernel!r}")
    in_shape = img.shape[:2]
    if min(in_shape) < 1:
        raise ValueError(f"imresize: empty image of shape {img.shape}")
    if (scale is None) == (output_shape is None):
        raise ValueError("imresize: give exactly one of scale and output_shape")
    if scale is not None:
        if not scale > 0:
            raise ValueError(f"imresize: scale must be positive, not {scale}")
        scales, out_shape = (float(scale),) * 2, output_size(in_shape, scale)
    else:
        out_shape = tuple(int(n) for n in output_shape)
        if len(out_shape) != 2 or min(out_shape) < 1:
            raise ValueError(f"imresize: output_shape must be two positive sizes, not {output_shape}")
        scales = tuple(o / i for o, i in zip(out_shape, in_shape))
    out = img
    for axis in sorted((0, 1), key=lambda a: scales[a]):  # stable: height first on ties, as MATLAB
        out = _resize_axis(out, axis, out_shape[axis], scales[axis], kernel, antialias)
    return out
