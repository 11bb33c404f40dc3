"""The image transformation network of Johnson, Alahi & Fei-Fei, "Perceptual Losses for
Real-Time Style Transfer and Super-Resolution" (ECCV 2016), style-transfer network of
the supplementary material, Table 1 (sizes for a 256x256 input):

    reflection padding 40x40                        3 x 336 x 336
    32 x 9x9 conv, stride 1                        32 x 336 x 336
    64 x 3x3 conv, stride 2                        64 x 168 x 168
    128 x 3x3 conv, stride 2                      128 x 84 x 84
    residual block, 128 filters (x5)              128 x 80 ... 64 x 64
    64 x 3x3 conv, stride 1/2                      64 x 128 x 128
    32 x 3x3 conv, stride 1/2                      32 x 256 x 256
    3 x 9x9 conv, stride 1                          3 x 256 x 256

Each residual block is  3x3 conv (no padding), norm, ReLU, 3x3 conv (no
padding), norm,  added to its input cropped by 2 pixels on each side (each
unpadded conv loses one). Every other conv is followed by norm + ReLU; the
last conv by the output map. Size arithmetic for an input of H (a multiple of
4): H + 80 -> (9x9, pad 4) H + 80 -> (stride 2, pad 1) H/2 + 40 -> H/4 + 20
-> five blocks lose 4 each: H/4 -> (transposed, stride 2, pad 1, output
padding 1: 2n) H/2 -> H. In general the reflection padding is 8 x the number
of residual blocks. ``padded=True`` is the common variant without the
40-pixel padding: every conv reflection-pads its own input and the blocks keep
their size (no crop); H/4 -> H/4 through the blocks.

The stride-1/2 ("fractionally strided") convs are transposed convs with
stride 2, padding 1 and output padding 1. Output: Johnson's scaled tanh,

    y = s * tanh(a) / 255 + 0.5,   s = 150 (Johnson's choice, y in [-0.088, 1.088]);

with s = 127.5 the map is exactly onto [0, 1]. Images are in [0, 1], so the
255 converts his 0-255 scale and the 0.5 recentres the tanh.

norm: 'batch' (Johnson), 'instance' (Ulyanov, Vedaldi & Lempitsky 2017,
instance normalisation, with a learnt affine), or 'conditional' (Dumoulin,
Shlens & Kudlur 2017: one (gamma, beta) per style, ``forward(x, styles)``).
"""
from .. import functional as F
from .. import nn
from .registry import SizeRule, check_size, register

NORMS = ("batch", "instance", "conditional")


def make_norm(norm, channels, num_styles=1):
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if norm == "conditional":
        return nn.ConditionalInstanceNorm2d(num_styles, channels)
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, not {norm!r}")


class ConvLayer(nn.Module):
    """conv (or transposed conv) -> norm -> optional ReLU; ``forward(x, styles)``."""

    def __init__(self, conv, norm, channels, num_styles=1, relu=True):
        super().__init__()
        self.conv, self.relu = conv, relu
        self.norm = make_norm(norm, channels, num_styles)
        self.conditional = norm == "conditional"

    def forward(self, x, styles=None):
        y = self.conv(x)
        y = self.norm(y, styles) if self.conditional else self.norm(y)
        return F.relu(y) if self.relu else y


class ResidualBlock(nn.Module):
    """x[crop] + norm(conv(relu(norm(conv(x))))); unpadded convs and a 2-pixel crop, or padded and no crop."""

    def __init__(self, channels, norm, num_styles=1, padded=False):
        super().__init__()
        mode = "reflect" if padded else "zeros"
        pad = 1 if padded else 0
        self.padded = padded
        self.a = ConvLayer(nn.Conv2d(channels, channels, 3, padding=pad, padding_mode=mode), norm, channels,
                           num_styles)
        self.b = ConvLayer(nn.Conv2d(channels, channels, 3, padding=pad, padding_mode=mode), norm, channels,
                           num_styles, relu=False)

    def forward(self, x, styles=None):
        y = self.b(self.a(x, styles), styles)
        return (x if self.padded else x[:, :, 2:-2, 2:-2]) + y


@register("transform-net")
class TransformNet(nn.Module):
    """Johnson et al.'s transformation network (module docstring).

    channels: widths of the three down-sampling convs (paper: 32, 64, 128);
    num_residual: residual blocks (paper: 5); norm: 'batch' | 'instance' |
    'conditional' (then num_styles (gamma, beta) rows); padded: the
    padding-free-crop variant; output_scale: s of the output map.
    Input (N, 3, H, W) in [0, 1] with H, W multiples of 4 (and, unpadded,
    larger than 8 * num_residual, the reflection padding); output the same size.
    """

    def __init__(self, norm="instance", channels=(32, 64, 128), num_residual=5, num_styles=1, padded=False,
                 output_scale=150.0):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"TransformNet: norm must be one of {', '.join(NORMS)}, not {norm!r}")
        c1, c2, c3 = (int(c) for c in channels)
        self.norm, self.channels, self.num_residual = norm, (c1, c2, c3), int(num_residual)
        self.num_styles = int(num_styles) if norm == "conditional" else 1
        self.padded, self.output_scale = bool(padded), float(output_scale)
        self.border = 0 if padded else 8 * self.num_residual
        mode = "reflect" if padded else "zeros"
        s = self.num_styles
        self.down = nn.ModuleList([
            ConvLayer(nn.Conv2d(3, c1, 9, padding=4, padding_mode=mode), norm, c1, s),
            ConvLayer(nn.Conv2d(c1, c2, 3, stride=2, padding=1, padding_mode=mode), norm, c2, s),
            ConvLayer(nn.Conv2d(c2, c3, 3, stride=2, padding=1, padding_mode=mode), norm, c3, s)])
        self.res = nn.ModuleList([ResidualBlock(c3, norm, s, padded) for _ in range(self.num_residual)])
        self.up = nn.ModuleList([
            ConvLayer(nn.ConvTranspose2d(c3, c2, 3, stride=2, padding=1, output_padding=1), norm, c2, s),
            ConvLayer(nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1), norm, c1, s)])
        self.out = nn.Conv2d(c1, 3, 9, padding=4, padding_mode=mode)

    def config(self):
        """The constructor arguments (saved in checkpoints to rebuild the network)."""
        return {"norm": self.norm, "channels": list(self.channels), "num_residual": self.num_residual,
                "num_styles": self.num_styles, "padded": self.padded, "output_scale": self.output_scale}

    def size_rule(self):
        """Sides that keep their size through the two stride-2 convs (multiples of 4) and exceed the
        reflection padding of the unpadded variant (which its cropped residual blocks remove)."""
        return SizeRule(self.border + 1, 4)

    def forward(self, x, styles=None):
        if self.norm == "conditional" and styles is None:
            raise ValueError("TransformNet: a conditional network needs styles (indices or mixing weights)")
        check_size(self, *x.shape[2:])
        if self.border:
            b = self.border
            x = F.pad(x, (b, b, b, b), mode="reflect")
        for layer in (*self.down, *self.res, *self.up):
            x = layer(x, styles)
        return F.tanh(self.out(x)) * (self.output_scale / 255.0) + 0.5
