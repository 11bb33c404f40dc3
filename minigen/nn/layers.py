"""Layers: Modules that hold parameters (and buffers) and call minigen.functional.

Default initialisation (the familiar frameworks' choice) for Linear, Conv2d
and ConvTranspose2d:

    weight ~ kaiming_uniform_(a = sqrt(5))  =  U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    bias   ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))

(with a = sqrt(5) the He bound gain * sqrt(3 / fan_in) has gain^2 = 2 / 6, so
the two bounds coincide). fan_in is read from the weight by
init.calculate_fan_in_and_fan_out: in/groups * kH * kW for a conv weight (out, in/groups,
kH, kW) and out/groups * kH * kW for a transposed-conv weight (in, out/groups,
kH, kW). The normalisation layers are in nn/norm.py.
Parameters are created in ``backend.default_dtype()`` on the CPU; use
``module.to(...)`` to move or convert them.
"""
import math

import numpy as np

from .. import backend
from .. import functional as F
from ..functional._args import int_pair
from . import init
from .module import Module, Parameter


def _empty(*shape):
    return Parameter(np.empty(shape, dtype=backend.default_dtype()))


def _positive(layer, **values):
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{layer}: {name} must be a positive integer, not {v!r}")


def _default_init(weight, bias):
    """kaiming_uniform_(a=sqrt(5)) weight and U(+-1/sqrt(fan_in)) bias (see the module docstring)."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        bound = 1.0 / math.sqrt(init.calculate_fan_in_and_fan_out(weight)[0])
        init.uniform_(bias, -bound, bound)


# ---- affine layers -------------------------------------------------------------

class Linear(Module):
    """y = x W^T + b;  W (out_features, in_features), b (out_features,)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        _positive("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = _empty(out_features, in_features)
        self.bias = _empty(out_features) if bias else None
        _default_init(self.weight, self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.in_features}, {self.out_features}, bias={self.bias is not None}"


class _ConvNd(Module):
    """Shared settings and checks of Conv2d and ConvTranspose2d."""

    def __init__(self, name, in_channels, out_channels, kernel_size, stride, padding, dilation, groups):
        super().__init__()
        _positive(name, in_channels=in_channels, out_channels=out_channels, groups=groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = int_pair(name, "kernel_size", kernel_size)
        self.stride = int_pair(name, "stride", stride)
        self.padding = int_pair(name, "padding", padding)
        self.dilation = int_pair(name, "dilation", dilation)
        _positive(name, kernel_size=min(self.kernel_size), stride=min(self.stride), dilation=min(self.dilation))
        if min(self.padding) < 0:
            raise ValueError(f"{name}: padding must be non-negative, not {padding!r}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
             f"padding={self.padding}")
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + f", bias={self.bias is not None}"


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) of x (N, C_in, H, W) with W (C_out, C_in/groups, kH, kW).

    padding_mode 'zeros' pads inside conv2d; 'reflect' or 'replicate' pads the
    input with F.pad first (reflection padding avoids the dark borders of
    zero padding in image generators).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros"):
        super().__init__("Conv2d", in_channels, out_channels, kernel_size, stride, padding, dilation, groups)
        if padding_mode not in ("zeros", "reflect", "replicate"):
            raise ValueError(f"Conv2d: padding_mode must be 'zeros', 'reflect' or 'replicate', not {padding_mode!r}")
        self.padding_mode = padding_mode
        self.weight = _empty(out_channels, in_channels // groups, *self.kernel_size)
        self.bias = _empty(out_channels) if bias else None
        _default_init(self.weight, self.bias)

    def forward(self, x):
        padding = self.padding
        if self.padding_mode != "zeros" and max(padding) > 0:
            ph, pw = padding
            x = F.pad(x, (pw, pw, ph, ph), mode=self.padding_mode)
            padding = 0
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.padding_mode == "zeros" else s + f", padding_mode={self.padding_mode!r}"


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the adjoint of Conv2d), W (C_in, C_out/groups, kH, kW).

    Output size per axis: (in - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1):
        super().__init__("ConvTranspose2d", in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups)
        self.output_padding = int_pair("ConvTranspose2d", "output_padding", output_padding)
        if any(not 0 <= op < max(s, d) for op, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"ConvTranspose2d: output_padding {self.output_padding} must be non-negative and "
                             f"smaller than stride {self.stride} or dilation {self.dilation}")
        self.weight = _empty(in_channels, out_channels // groups, *self.kernel_size)
        self.bias = _empty(out_channels) if bias else None
        _default_init(self.weight, self.bias)

    def forward(self, x):
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, self.output_padding,
                                  self.groups, self.dilation)

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.output_padding == (0, 0) else s + f", output_padding={self.output_padding}"


# ---- activations and other parameter-free layers -----------------------------------------

class ReLU(Module):
    """max(x, 0)."""
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^-x)."""
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise (Clevert et al. 2016)."""
    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class Softplus(Module):
    """(1/beta) log(1 + e^(beta x)), linear where beta x > threshold."""
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Dropout(Module):
    """Zero each value with probability p and scale the rest by 1/(1-p) in training; identity in evaluation."""
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must lie in [0, 1), not {p}")
        self.p = float(p)

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Upsample(Module):
    """Resize by scale_factor or to size with F.interpolate (mode 'nearest' or 'bilinear')."""
    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, size=self.size, scale_factor=self.scale_factor, mode=self.mode,
                             align_corners=self.align_corners)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class ReflectionPad2d(Module):
    """Mirror padding of H and W (the edge is not repeated); padding int or (left, right, top, bottom)."""
    def __init__(self, padding):
        super().__init__()
        pads = (padding,) * 4 if isinstance(padding, (int, np.integer)) else tuple(padding)
        if len(pads) != 4 or any(not isinstance(p, (int, np.integer)) or p < 0 for p in pads):
            raise ValueError(f"ReflectionPad2d: padding must be a non-negative int or 4 of them, not {padding!r}")
        self.padding = tuple(int(p) for p in pads)

    def forward(self, x):
        return F.pad(x, self.padding, mode="reflect")

    def extra_repr(self):
        return f"{self.padding}"


class Flatten(Module):
    """Merge the axes from start_dim on: (N, C, H, W) -> (N, C*H*W) by default."""
    def __init__(self, start_dim=1):
        super().__init__()
        self.start_dim = int(start_dim)

    def forward(self, x):
        return x.flatten(self.start_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}"


class Unflatten(Module):
    """Split the features of each example into ``shape``: (N, C*H*W) -> (N, C, H, W)."""
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over kernel windows (stride defaults to kernel_size)."""
    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """Mean over kernel windows (stride defaults to kernel_size)."""
    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class PixelShuffle(Module):
    """(N, C r^2, H, W) -> (N, C, H r, W r): sub-pixel upsampling (Shi et al. 2016)."""
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, x):
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"
