"""Gradcheck cases: conv2d and conv_transpose2d (x, weight and bias).

Both ops are bilinear in (x, w), so central differences are exact up to
rounding; the cases cover every branch of the GEMM code: unit stride (the
gather adjoint, including padding wider than the kernel, which crops), larger
strides (the tap scatter), dilation, groups, 1x1 kernels, odd sizes, batch 1,
with and without bias, and output_padding; and the FFT path of 5x5 and
larger kernels (functional/conv_fft.py).
"""
from .. import functional as F
from . import case, inputs


def _conv(rng, x_shape, w_shape, bias, **params):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if bias else None
    return (lambda x, w, b: F.conv2d(x, w, b, **params)), inputs(x, w, b)


def _transposed(rng, x_shape, w_shape, bias, **params):
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[1] * params.get("groups", 1)) if bias else None
    return (lambda x, w, b: F.conv_transpose2d(x, w, b, **params)), inputs(x, w, b)


@case("conv2d/3x3-pad1")
def _(rng):
    return _conv(rng, (2, 3, 5, 6), (4, 3, 3, 3), True, padding=1)


@case("conv2d/stride2-asymmetric-pad")
def _(rng):
    return _conv(rng, (2, 4, 7, 6), (3, 4, 3, 2), True, stride=2, padding=(1, 0))


@case("conv2d/dilation2-batch1-nobias")
def _(rng):
    return _conv(rng, (1, 2, 7, 7), (3, 2, 3, 3), False, padding=2, dilation=2)


@case("conv2d/groups2-stride-2x1")
def _(rng):
    return _conv(rng, (2, 4, 5, 6), (6, 2, 3, 3), True, stride=(2, 1), padding=1, groups=2)


@case("conv2d/depthwise")
def _(rng):
    return _conv(rng, (2, 3, 5, 5), (6, 1, 3, 3), False, padding=1, groups=3)


@case("conv2d/1x1-pad1")
def _(rng):
    # padding beyond the kernel reach: the unit-stride adjoint crops instead of padding
    return _conv(rng, (1, 3, 4, 5), (2, 3, 1, 1), True, padding=1)


@case("conv2d/stride3-dilation-1x2-odd")
def _(rng):
    return _conv(rng, (2, 2, 9, 7), (2, 2, 2, 3), True, stride=3, padding=(0, 2), dilation=(1, 2))


@case("conv_transpose2d/3x3-pad1")
def _(rng):
    return _transposed(rng, (2, 3, 4, 5), (3, 2, 3, 3), True, padding=1)


@case("conv_transpose2d/stride2-output-padding")
def _(rng):
    return _transposed(rng, (2, 4, 3, 4), (4, 3, 4, 4), True, stride=2, padding=1, output_padding=1)


@case("conv_transpose2d/groups2-dilation2-output-padding-batch1")
def _(rng):
    return _transposed(rng, (1, 4, 3, 5), (4, 2, 3, 3), False, groups=2, dilation=2, output_padding=1)


@case("conv_transpose2d/groups3-stride-3x2-odd")
def _(rng):
    return _transposed(rng, (2, 6, 3, 3), (6, 1, 2, 3), True, stride=(3, 2), padding=(0, 1),
                       output_padding=(2, 1), groups=3)


@case("conv_transpose2d/pad3-crops")
def _(rng):
    return _transposed(rng, (1, 2, 6, 6), (2, 2, 3, 3), False, padding=3)


@case("conv2d/5x5-pad2-fft")
def _(rng):
    return _conv(rng, (2, 3, 8, 8), (4, 3, 5, 5), True, padding=2)


@case("conv_transpose2d/5x6-fft")
def _(rng):
    return _transposed(rng, (1, 3, 7, 6), (3, 2, 5, 6), True, padding=(1, 3))
