"""Deep Image Prior (Ulyanov, Vedaldi & Lempitsky, CVPR 2018): the encoder-decoder
of the paper's supplementary material, its input codes, and the fixed
downsampler of its super-resolution energy.

The prior is the network itself: x = f_theta(z) for a fixed random code z,
and an image restoration problem min_x E(x; x0) becomes
min_theta E(f_theta(z); x0), fitted by gradient descent from a random theta
(the procedures are in minigen.recipes.dip).

Network (the "skip" architecture of the supplementary material), with N scales; at scale
i the feature map x_i (x_0 = z) feeds

    d_i:  conv k_d stride 2 -> BN -> LeakyReLU(0.2) -> conv k_d -> BN -> LeakyReLU     (x_{i+1}, half size)
    s_i:  conv k_s -> BN -> LeakyReLU                                                  (n_s[i] channels)
    u_i:  BN -> conv k_u -> BN -> LeakyReLU -> conv 1x1 -> BN -> LeakyReLU              (n_u[i] channels)

and the decoder runs from the deepest scale up:

    y_N = x_N,   y_i = u_i( concat( s_i(x_i), upsample2(y_{i+1}) ) ),   x = sigmoid(conv 1x1 (y_0)).

Convolutions pad by reflection (no dark borders). Upsampling goes to the
exact size of x_i (bilinear or nearest), so any image of at least
``min_size(scales)`` pixels per side works, not only multiples of 2^N.
"hourglass" is the same network without skip connections (n_s = 0).
As in the paper's code, batch norm always uses the statistics of the one
image being fitted (the network stays in training mode).
"""
import numpy as np

from .. import nn
from .. import functional as F
from ..data.imresize import contributions
from ..tensor import Tensor
from .registry import SizeRule, check_size, register

ARCHS = ("skip", "hourglass")
DEFAULT_CHANNELS = {"down": (128,) * 5, "up": (128,) * 5, "skip": (4,) * 5}


def _conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, padding_mode="reflect")


def _act():
    return nn.LeakyReLU(0.2)


@register("dip-net")
class DIPNet(nn.Module):
    """The DIP encoder-decoder; ``down``, ``up``, ``skip`` give n_d, n_u, n_s per scale (equal lengths).

    The defaults (32 input channels, 5 scales of 128 down / 128 up and 4 skip
    channels, 3x3 / 3x3 / 1x1 kernels, bilinear upsampling) have 2,217,831
    parameters with 3 outputs; the supplementary lists per-experiment settings
    (channels, skip widths, input code) that vary around this shape.
    """

    def __init__(self, in_channels=32, out_channels=3, down=DEFAULT_CHANNELS["down"], up=DEFAULT_CHANNELS["up"],
                 skip=DEFAULT_CHANNELS["skip"], kernel_down=3, kernel_up=3, kernel_skip=1, upsample="bilinear",
                 sigmoid=True):
        super().__init__()
        down, up, skip = tuple(down), tuple(up), tuple(skip)
        if not len(down) == len(up) == len(skip) >= 1:
            raise ValueError(f"DIPNet: down, up and skip need one entry per scale, got {len(down)}, {len(up)}, "
                             f"{len(skip)}")
        if upsample not in ("bilinear", "nearest"):
            raise ValueError(f"DIPNet: upsample must be 'bilinear' or 'nearest', not {upsample!r}")
        if min(skip) < 0 or min(down + up) < 1:
            raise ValueError("DIPNet: down and up channels must be positive, skip channels non-negative")
        self.scales, self.upsample, self.sigmoid = len(down), upsample, bool(sigmoid)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self._config = {"in_channels": self.in_channels, "out_channels": self.out_channels, "down": list(down),
                       "up": list(up), "skip": list(skip), "kernel_down": kernel_down, "kernel_up": kernel_up,
                       "kernel_skip": kernel_skip, "upsample": upsample, "sigmoid": self.sigmoid}
        self.down, self.skips, self.up = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        cin = in_channels
        for i in range(self.scales):
            self.down.append(nn.Sequential(
                _conv(cin, down[i], kernel_down, stride=2), nn.BatchNorm2d(down[i]), _act(),
                _conv(down[i], down[i], kernel_down), nn.BatchNorm2d(down[i]), _act()))
            # An empty Sequential keeps the scales' indices aligned where a scale has no skip.
            self.skips.append(nn.Sequential(_conv(cin, skip[i], kernel_skip), nn.BatchNorm2d(skip[i]), _act())
                              if skip[i] else nn.Sequential())
            deeper = up[i + 1] if i + 1 < self.scales else down[i]
            self.up.append(nn.Sequential(
                nn.BatchNorm2d(skip[i] + deeper), _conv(skip[i] + deeper, up[i], kernel_up), nn.BatchNorm2d(up[i]),
                _act(), _conv(up[i], up[i], 1), nn.BatchNorm2d(up[i]), _act()))
            cin = down[i]
        self.head = _conv(up[0], out_channels, 1)

    def config(self):
        return dict(self._config)

    def size_rule(self):
        """The deepest feature map, ceil(side / 2^scales), needs 2 pixels for its reflection-padded 3x3
        convolution: sides of at least 2^scales + 1."""
        return SizeRule(2 ** self.scales + 1, 1)

    def forward(self, z):
        if z.ndim != 4 or z.shape[1] != self.in_channels:
            raise ValueError(f"DIPNet: expected input (N, {self.in_channels}, H, W), got shape {tuple(z.shape)}")
        check_size(self, *z.shape[2:])
        skips, sizes, h = [], [], z
        for down, skip, n_s in zip(self.down, self.skips, self._config["skip"]):
            skips.append(skip(h) if n_s else None)
            sizes.append(h.shape[2:])
            h = down(h)
        for i in reversed(range(self.scales)):
            h = F.interpolate(h, size=sizes[i], mode=self.upsample)
            if skips[i] is not None:
                h = F.concat([skips[i], h], axis=1)
            h = self.up[i](h)
        out = self.head(h)
        return F.sigmoid(out) if self.sigmoid else out

    def activation_bytes(self, h, w, batch=1):
        """Bytes of the activations one forward and backward keep alive at an h x w input (float32): the
        outputs of every conv, norm, activation, upsampling and concatenation, and as much again for
        their gradients. An estimate for refusing sizes that cannot fit, not a measurement."""
        total, sizes = 0, []
        for i in range(self.scales):
            sizes.append((h, w))
            h, w = -(-h // 2), -(-w // 2)
            total += 6 * self._config["down"][i] * h * w
        for i, (hh, ww) in enumerate(sizes):
            n_s, n_u = self._config["skip"][i], self._config["up"][i]
            deeper = self._config["up"][i + 1] if i + 1 < self.scales else self._config["down"][i]
            total += (3 * n_s + 2 * (n_s + deeper) + 6 * n_u) * hh * ww
        total += (self.in_channels + 2 * self.out_channels) * sizes[0][0] * sizes[0][1]
        return 2 * 4 * batch * total


def dip_net(arch="skip", in_channels=32, out_channels=3, **kw):
    """The named variant: 'skip' (the default U-Net-like net) or 'hourglass' (no skip connections)."""
    if arch not in ARCHS:
        raise ValueError(f"dip_net: arch must be one of {ARCHS}, not {arch!r}")
    if arch == "hourglass":
        kw["skip"] = (0,) * len(kw.get("down", DEFAULT_CHANNELS["down"]))
    return DIPNet(in_channels, out_channels, **kw)


def input_noise(channels, h, w, kind="uniform", scale=0.1, rng=None):
    """The fixed code z, (1, channels, h, w) float32: U(0, scale) noise, or for kind='meshgrid' the two
    channels (x, y) of pixel coordinates in [0, 1] (channels must be 2), as in the paper's code."""
    if kind == "uniform":
        rng = np.random.default_rng(0) if rng is None else rng
        return (scale * rng.random((1, channels, h, w))).astype(np.float32)
    if kind == "meshgrid":
        if channels != 2:
            raise ValueError(f"input_noise: a meshgrid code has 2 channels, not {channels}")
        y, x = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
        return np.stack([x, y])[None].astype(np.float32)
    raise ValueError(f"input_noise: kind must be 'uniform' or 'meshgrid', not {kind!r}")


def resize_matrix(in_length, out_length, kernel="lanczos3"):
    """The (out_length, in_length) matrix of imresize along one axis (MATLAB's weights and mirrored edges,
    from minigen.data.imresize.contributions): row i holds output i's weights."""
    weights, indices = contributions(in_length, out_length, out_length / in_length, kernel)
    m = np.zeros((out_length, in_length))
    np.add.at(m, (np.repeat(np.arange(out_length), indices.shape[1]), indices.ravel()), weights.ravel())
    return m


@register("downsampler")
class Downsampler(nn.Module):
    """d(x) of the SR energy ||d(x) - x0||^2: a fixed (not learned) antialiased resize of (N, C, H, W)
    by 1/factor, separable as d(x) = D_H x D_W^T with D the resize matrices of MATLAB's imresize
    (Lanczos-3 by default, or 'cubic'; the paper's d is likewise a fixed antialiasing resize).
    So d(x) equals ``imresize(x, 1/factor, kernel)`` and its gradient applies the adjoint D_H^T g D_W.
    """

    def __init__(self, in_shape, factor, kernel="lanczos3"):
        super().__init__()
        h, w = (int(s) for s in in_shape)
        if factor < 1 or h % factor or w % factor:
            raise ValueError(f"Downsampler: {h}x{w} is not divisible by the factor {factor}")
        self.in_shape, self.factor, self.kernel = (h, w), int(factor), kernel
        # Kept in float64 (exact weights) and cast to the input's dtype in forward.
        self.register_buffer("d_h", resize_matrix(h, h // factor, kernel))
        self.register_buffer("d_w", resize_matrix(w, w // factor, kernel))

    def config(self):
        return {"in_shape": list(self.in_shape), "factor": self.factor, "kernel": self.kernel}

    def size_rule(self):
        """Its input is the one in_shape it was built for; sides divisible by the factor."""
        return SizeRule(self.factor, self.factor)

    def forward(self, x):
        if x.ndim != 4 or tuple(x.shape[2:]) != self.in_shape:
            raise ValueError(f"Downsampler: expected (N, C, {self.in_shape[0]}, {self.in_shape[1]}), "
                             f"got {tuple(x.shape)}")
        d_h, d_w = Tensor(self.d_h.astype(x.dtype, copy=False)), Tensor(self.d_w.astype(x.dtype, copy=False))
        x = F.linear(x, d_w)                                   # along W: (N, C, H, W / f)
        return F.transpose(F.linear(F.transpose(x), d_h))      # along H: (N, C, H / f, W / f)

    def extra_repr(self):
        return f"in_shape={self.in_shape}, factor={self.factor}, kernel={self.kernel!r}"
