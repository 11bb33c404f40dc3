"""The multi-scale generator of Ulyanov, Lebedev, Vedaldi & Lempitsky, "Texture Networks:
Feed-forward Synthesis of Textures and Stylized Images" (ICML 2016), Fig. 2.

K noise tensors z_k (k = 0 finest) at resolutions H/2^k; each is processed by
a conv block (3x3, 3x3, 1x1 convs, each followed by a norm and LeakyReLU).
Starting from the coarsest, the running result is upsampled x2 (nearest),
normalised, and joined by channel concatenation with the normalised block
output of the next finer scale; the join passes through another conv block
of the combined width. A final 1x1 conv gives 3 channels (linear: the paper's
output layer; results are clipped to [0, 1] when saved).

    h_{K-1} = B(z_{K-1})
    h_k     = B'([norm(up(h_{k+1})), norm(B(z_k))]),   k = K-2 .. 0
    y       = conv1x1(h_0)

Widths grow by ``channels`` per scale (paper: 8), so h_k has
(K - k) * channels channels. Textures: the inputs are noise only, and any
output size that is a multiple of 2^(K-1) works at inference. Stylisation
(``content=True``): the content image, average-pooled to each scale, is
concatenated with that scale's noise. norm: 'batch' (the paper) or
'instance' (Ulyanov et al. 2017). Convs reflection-pad their input.
"""
from .. import backend
from .. import functional as F
from .. import nn
from ..tensor import Tensor
from .registry import SizeRule, check_size, register


def _norm(norm, channels):
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    raise ValueError(f"TextureNet: norm must be 'batch' or 'instance', not {norm!r}")


def conv_block(cin, cout, norm, slope):
    """3x3, 3x3, 1x1 convs, each followed by norm and LeakyReLU."""
    layers = []
    for i, k in enumerate((3, 3, 1)):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, k, padding=k // 2,
                             padding_mode="reflect" if k > 1 else "zeros"),
                   _norm(norm, cout), nn.LeakyReLU(slope)]
    return nn.Sequential(*layers)


@register("texture-net")
class TextureNet(nn.Module):
    """Ulyanov et al.'s multi-scale texture / stylisation generator (module docstring).

    num_scales: K noise inputs (paper: 5 or 6); channels: width added per
    scale (paper: 8); noise_channels per scale (3); content: also take a
    content image; norm 'batch' | 'instance'; slope of the LeakyReLU.
    """

    def __init__(self, num_scales=5, channels=8, noise_channels=3, content=False, norm="batch", slope=0.01):
        super().__init__()
        if int(num_scales) < 1:
            raise ValueError(f"TextureNet: num_scales must be at least 1, not {num_scales}")
        self.num_scales, self.channels, self.noise_channels = int(num_scales), int(channels), int(noise_channels)
        self.content, self.norm, self.slope = bool(content), norm, float(slope)
        k, c = self.num_scales, self.channels
        cin = self.noise_channels + (3 if self.content else 0)
        self.blocks = nn.ModuleList([conv_block(cin, c, norm, slope) for _ in range(k)])
        # join j merges scale k = K-2-j: (K-1-k)*c upsampled channels with c fresh ones
        self.up_norms = nn.ModuleList([_norm(norm, (j + 1) * c) for j in range(k - 1)])
        self.fresh_norms = nn.ModuleList([_norm(norm, c) for _ in range(k - 1)])
        self.joins = nn.ModuleList([conv_block((j + 2) * c, (j + 2) * c, norm, slope) for j in range(k - 1)])
        self.out = nn.Conv2d(k * c, 3, 1)

    def config(self):
        return {"num_scales": self.num_scales, "channels": self.channels, "noise_channels": self.noise_channels,
                "content": self.content, "norm": self.norm, "slope": self.slope}

    def size_rule(self):
        """Output sides are multiples of 2^(K-1): the coarsest noise is 2^(K-1) times smaller."""
        return SizeRule(2 ** (self.num_scales - 1), 2 ** (self.num_scales - 1))

    def sample(self, n, h, w, rng, device="cpu"):
        """n textures (N, 3, h, w) in [0, 1] from fresh noise (a generator without a content input),
        generated at the next sides the size rule accepts and cropped."""
        if self.content:
            raise ValueError("TextureNet: a network with a content input stylises images; it does not sample")
        rule = self.size_rule()
        y = self(self.noise(n, rule.fit(h), rule.fit(w), rng, backend.default_dtype(), device))
        return y.numpy()[:, :, :h, :w].clip(0, 1)

    def noise(self, n, h, w, rng, dtype=None, device="cpu"):
        """The K noise tensors for an (h, w) output, drawn from ``rng`` (uniform in [0, 1], as the paper)."""
        check_size(self, h, w, "output")
        dtype = dtype or backend.default_dtype()
        return [Tensor(backend.to_device(rng.random((n, self.noise_channels, h >> k, w >> k)).astype(dtype),
                                         device)) for k in range(self.num_scales)]

    def forward(self, noises, content=None):
        if len(noises) != self.num_scales:
            raise ValueError(f"TextureNet: expected {self.num_scales} noise tensors, got {len(noises)}")
        if self.content != (content is not None):
            raise ValueError("TextureNet: give a content image exactly when the network was built with content=True")
        inputs = list(noises)
        if content is not None:
            inputs = [F.concat([z, content if k == 0 else F.avg_pool2d(content, 2 ** k)], axis=1)
                      for k, z in enumerate(noises)]
        h = self.blocks[-1](inputs[-1])
        for j in range(self.num_scales - 1):
            k = self.num_scales - 2 - j
            up = self.up_norms[j](F.interpolate(h, scale_factor=2))
            fresh = self.fresh_norms[j](self.blocks[k](inputs[k]))
            h = self.joins[j](F.concat([up, fresh], axis=1))
        return self.out(h)

