"""DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks" (ICLR 2016), at 28x28 (MNIST) and 64x64, with the conditional
form of Mirza & Osindero (2014).

The paper's guidelines: strided (transposed) convolutions instead of pooling,
batch norm in both networks (not on G's output nor D's input), no fully
connected hidden layers, ReLU in G with a tanh output, LeakyReLU(0.2) in D.
With g = ``ngf``, d = ``ndf``, C image channels and K = ``classes``:

    64x64  G: z (nz+K, 1, 1) -> ConvT(nz+K, 8g, 4, 1, 0) 4x4 -> ConvT(8g, 4g, 4, 2, 1) 8x8
              -> ConvT(4g, 2g) 16x16 -> ConvT(2g, g) 32x32 -> ConvT(g, C, 4, 2, 1) 64x64 -> tanh
           D: x (C+K, 64, 64) -> Conv(C+K, d, 4, 2, 1) 32x32 -> Conv(d, 2d) 16x16 -> Conv(2d, 4d) 8x8
              -> Conv(4d, 8d) 4x4 -> Conv(8d, 1, 4, 1, 0) one value
    28x28  G: z -> ConvT(nz+K, 4g, 7, 1, 0) 7x7 -> ConvT(4g, 2g, 4, 2, 1) 14x14 -> ConvT(2g, C, 4, 2, 1) -> tanh
           D: x -> Conv(C+K, d, 4, 2, 1) 14x14 -> Conv(d, 2d, 4, 2, 1) 7x7 -> Conv(2d, 1, 7) one value

Every hidden layer of G is ConvT + BN + ReLU; D's first layer is Conv +
LeakyReLU(0.2), the next ones Conv + BN + LeakyReLU(0.2). A convolution
followed by batch norm has no bias (the norm's shift takes its place). With
nz 100 and g = d = 64 the 28x28 pair is ConvT 100->256->128->1 and Conv
1->64->128->1.

D's output is a logit, or the critic value of WGAN (the same network:
Arjovsky et al. keep batch norm in their DCGAN critic); ``batch_norm=False``
gives D without it (each convolution then has a bias).

The conditional nets join the one-hot label to z (G's input is then
nz + K maps of 1x1) and as K constant maps to the image (D's input has C + K
channels).

Weights start as in the DCGAN paper (``dcgan_init``): every conv weight
N(0, 0.02²), every batch-norm weight N(1, 0.02²), biases 0, drawn from
minigen's shared generator (``backend.manual_seed`` fixes them).
"""
from .. import nn
from .gan import _Discriminator, _Generator, check_common, condition
from .registry import register

# size: (side of G's first map = kernel of its first ConvT and of D's last Conv,
#        G's widths in units of ngf, D's widths in units of ndf)
SIZES = {28: (7, (4, 2), (1, 2)), 64: (4, (8, 4, 2, 1), (1, 2, 4, 8))}


def dcgan_init(module):
    """DCGAN's initialisation, in place: conv and transposed-conv weights N(0, 0.02²), batch-norm
    weights N(1, 0.02²), all biases 0. Returns the module."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    return module


def _check(size, width, channels, nz, classes):
    if size not in SIZES:
        raise ValueError(f"the DCGAN networks are built for sizes {sorted(SIZES)}, not {size}")
    if width < 1 or channels < 1:
        raise ValueError(f"the width ({width}) and channels ({channels}) must be positive")
    check_common((channels, size, size), nz, classes)


@register("dcgan-generator")
class DCGANGenerator(_Generator):
    """z (N, nz) [and labels (N,)] -> images (N, C, size, size) in [-1, 1]."""

    def __init__(self, size=28, nz=100, ngf=64, channels=1, classes=0):
        super().__init__()
        size, nz, ngf, channels, classes = int(size), int(nz), int(ngf), int(channels), int(classes or 0)
        _check(size, ngf, channels, nz, classes)
        self.size, self.nz, self.ngf, self.channels, self.classes = size, nz, ngf, channels, classes
        self.shape = (channels, size, size)
        side, widths, _ = SIZES[size]
        layers, c_in = [], nz + classes
        for i, m in enumerate(widths):
            k, s, p = (side, 1, 0) if i == 0 else (4, 2, 1)
            layers += [nn.ConvTranspose2d(c_in, m * ngf, k, s, p, bias=False), nn.BatchNorm2d(m * ngf), nn.ReLU()]
            c_in = m * ngf
        self.net = dcgan_init(nn.Sequential(*layers, nn.ConvTranspose2d(c_in, channels, 4, 2, 1), nn.Tanh()))

    def config(self):
        return {"size": self.size, "nz": self.nz, "ngf": self.ngf, "channels": self.channels,
                "classes": self.classes}

    def forward(self, z, labels=None):
        h = condition(z, labels, self.classes)
        return self.net(h.reshape(h.shape[0], h.shape[1], 1, 1))


@register("dcgan-discriminator")
class DCGANDiscriminator(_Discriminator):
    """x (N, C, size, size) [and labels (N,)] -> (N,) logits or critic values."""

    def __init__(self, size=28, ndf=64, channels=1, classes=0, batch_norm=True):
        super().__init__()
        size, ndf, channels, classes = int(size), int(ndf), int(channels), int(classes or 0)
        _check(size, ndf, channels, None, classes)
        self.size, self.ndf, self.channels, self.classes = size, ndf, channels, classes
        self.batch_norm, self.shape = bool(batch_norm), (channels, size, size)
        side, _, widths = SIZES[size]
        layers, c_in = [], channels + classes
        for i, m in enumerate(widths):
            norm = self.batch_norm and i > 0
            layers.append(nn.Conv2d(c_in, m * ndf, 4, 2, 1, bias=not norm))
            layers += [nn.BatchNorm2d(m * ndf), nn.LeakyReLU(0.2)] if norm else [nn.LeakyReLU(0.2)]
            c_in = m * ndf
        self.net = dcgan_init(nn.Sequential(*layers, nn.Conv2d(c_in, 1, side, 1, 0)))

    def config(self):
        return {"size": self.size, "ndf": self.ndf, "channels": self.channels, "classes": self.classes,
                "batch_norm": self.batch_norm}

    def forward(self, x, labels=None):
        return self.net(condition(x, labels, self.classes, maps=True)).reshape(-1)
