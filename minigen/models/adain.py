"""Arbitrary style transfer with adaptive instance normalisation: Huang & Belongie,
"Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization" (ICCV 2017).

    t = AdaIN(f(c), f(s)) = sigma(f(s)) (f(c) - mu(f(c))) / sigma(f(c)) + mu(f(s))
    T(c, s) = g(t)

f is a fixed VGG-19 encoder up to relu4_1 (or relu3_1 when the weights stop
there), g a decoder that mirrors it: the encoder's convs in reverse order
with input and output widths swapped, each pooling replaced by nearest x2
upsampling, 3x3 convs with reflection padding, ReLU after every conv but the
last, no normalisation. Its input is first multiplied by a fixed
``input_scale``: 1/255 for an encoder of the caffe convention, whose input
map multiplies pixels by 255 (its relu3_1 features have an RMS of ~300, which
a freshly initialised decoder turns into values of RMS ~7, far outside
[0, 1]: the content loss started at 37 times its target's energy), 1 otherwise.
Content-style trade-off (Sec. 7.2):
t = alpha AdaIN(f(c), f(s)) + (1 - alpha) f(c). Style interpolation: t =
sum_k w_k AdaIN(f(c), f(s_k)) with convex weights w.
"""
from .. import functional as F
from .. import nn
from .registry import SizeRule, register
from .vgg import LAYERS
from .vgg import WIDTHS as VGG_WIDTHS  # the encoder's block widths fix the decoder's input


@register("adain-decoder")
class Decoder(nn.Module):
    """g: the mirror of VGG (depth 19 or 16) up to the layer ``last`` (e.g. 'relu4_1').

    widths: the channels of VGG blocks 1..5 (64, 128, 256, 512, 512; smaller
    for tests). Maps (N, widths[b-1], H / 2^(b-1), W / 2^(b-1)) to (N, 3, H, W)
    for last = relu{b}_1.
    """

    def __init__(self, last="relu4_1", widths=VGG_WIDTHS, depth=19, input_scale=1.0):
        super().__init__()
        self.input_scale = float(input_scale)
        names = LAYERS.get(depth, ())
        if last not in names or not last.startswith("relu"):
            raise ValueError(f"Decoder: last must be a relu layer of VGG-{depth}, not {last!r}")
        self.last, self.widths, self.depth = last, tuple(int(w) for w in widths), depth
        layers, channels = [], 3
        convs = []  # the encoder's (in, out) widths, then mirrored
        for name in names[:names.index(last) + 1]:
            if name.startswith("conv"):
                out = self.widths[int(name[4]) - 1]
                convs.append((channels, out))
                channels = out
            elif name.startswith("pool"):
                convs.append(None)
        for i, spec in enumerate(reversed(convs)):
            if spec is None:
                layers.append(nn.Upsample(scale_factor=2))
                continue
            cin, cout = spec
            layers.append(nn.Conv2d(cout, cin, 3, padding=1, padding_mode="reflect"))
            if i < len(convs) - 1:
                layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)
        self.in_channels = channels
        self._pools = sum(spec is None for spec in convs)

    def config(self):
        return {"last": self.last, "widths": list(self.widths), "depth": self.depth,
                "input_scale": self.input_scale}

    def size_rule(self):
        """Image sides (encoder input, decoder output) that the encoder's pools divide exactly."""
        return SizeRule(2 ** self._pools, 2 ** self._pools)

    def forward(self, t):
        return self.body(t if self.input_scale == 1.0 else t * self.input_scale)


def adain_target(content_features, style_features, weights=None, alpha=1.0):
    """t = alpha sum_k w_k AdaIN(f(c), f(s_k)) + (1 - alpha) f(c).

    style_features: one (N or 1, C, h, w) Tensor or a list of them (then
    ``weights`` gives one weight per style, summing to 1).
    """
    if not isinstance(style_features, (list, tuple)):
        style_features, weights = [style_features], [1.0]
    if weights is None or len(weights) != len(style_features):
        raise ValueError(f"adain_target: need one weight per style ({len(style_features)}), got {weights}")
    t = None
    for w, s in zip(weights, style_features):
        term = F.adain(content_features, s) * float(w)
        t = term if t is None else t + term
    return t if alpha == 1.0 else t * float(alpha) + content_features * (1.0 - float(alpha))
