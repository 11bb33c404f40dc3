"""Gradcheck cases of the networks in minigen.models, at tiny sizes in float64, one section per model.

Frozen feature networks are checked with respect to their input (the gradient
that feature inversion, texture synthesis and style transfer follow); trained
networks jointly over their input and every parameter.
"""
import numpy as np

from .. import losses
from ..losses import likelihood as LK
from ..models.adain import Decoder, adain_target
from ..models.autoencoder import VAE, Autoencoder, PairedAutoencoder
from ..models.dcgan import DCGANDiscriminator, DCGANGenerator
from ..models.dip import DIPNet, Downsampler
from ..models.gan import MLPDiscriminator, MLPGenerator
from ..models.lenet import LeNet5
from ..models.sr_resnet import PerceptualSRNet
from ..models.srcnn import SRCNN
from ..models.texture_net import TextureNet
from ..models.transform_net import TransformNet
from ..models.vdsr import VDSR
from ..models.vgg import VGG
from ..tensor import Tensor
from . import case, inputs


# ---- VGG (models/vgg.py) ---------------------------------------------------------

def _vgg(rng, pooling, convention, layers):
    """A VGG-19 cut at the deepest requested layer, seeded random weights, frozen, in float64,
    on a 16x16 image; the output is the requested activations."""
    deepest = layers[-1]
    vgg = VGG(19, pooling=pooling, convention=convention, last=deepest, seed=int(rng.integers(1000)))
    vgg.requires_grad_(False).to(dtype=np.float64)
    return (lambda x: tuple(vgg(x, layers).values())), inputs(rng.random((1, 3, 16, 16)))


@case("models/vgg/max-relu2_1")
def _(rng):
    return _vgg(rng, "max", "torchvision", ["relu1_1", "relu2_1"])


@case("models/vgg/avg-caffe-relu3_1")
def _(rng):
    return _vgg(rng, "avg", "caffe", ["conv2_2", "relu3_1"])


# ---- super-resolution (models/srcnn.py, vdsr.py, sr_resnet.py) ----------------------------

def _trained(rng, model, x):
    """A trainable network in float64, parameters drawn from the case's generator, checked jointly
    over its input and all its parameters."""
    model.to(dtype=np.float64)
    for p in model.parameters():
        p.data[...] = rng.normal(0.0, 0.5, p.shape)
    return (lambda x, *params: model(x)), inputs(x) + model.parameters()


@case("models/srcnn", joint=True)
def _(rng):
    return _trained(rng, SRCNN(kernels=(3, 1, 3), n1=4, n2=3), rng.random((2, 1, 6, 6)))


@case("models/vdsr", joint=True)
def _(rng):
    return _trained(rng, VDSR(depth=3, width=4), rng.random((2, 1, 5, 5)))


@case("models/sr_resnet", joint=True)
def _(rng):
    return _trained(rng, PerceptualSRNet(width=4, blocks=1, upsamplings=2), rng.random((2, 3, 3, 3)))


# ---- Deep Image Prior (models/dip.py) --------------------------------------------------

def _dip(rng, skip):
    """Two scales of 2-3 channels on a 5x7 code (odd sizes at every scale, so upsampling goes to the
    exact size), checked jointly over the input and every parameter."""
    net = DIPNet(in_channels=2, out_channels=2, down=(2, 3), up=(3, 2), skip=skip)
    return _trained(rng, net, rng.standard_normal((1, 2, 5, 7)))


@case("models/dip/skip", joint=True)
def _(rng):
    return _dip(rng, (1, 2))


@case("models/dip/hourglass", joint=True)
def _(rng):
    return _dip(rng, (0, 0))


@case("models/dip/downsampler")
def _(rng):
    down = Downsampler((8, 12), 4).to(dtype=np.float64)
    return down, inputs(rng.standard_normal((2, 2, 8, 12)))


# ---- feed-forward stylisation (models/transform_net.py, texture_net.py, adain.py) --------------

def _fan_in_scaled(rng, net):
    """net in float64 with random parameters of fan-in scale, so that no tanh saturates and
    every path carries gradient; returns its parameters."""
    net.to(dtype=np.float64)
    for p in net.parameters():
        fan_in = p.size // p.shape[0]
        p.data[...] = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1.0, 1.0], p.shape) / np.sqrt(fan_in)
    return net.parameters()


@case("models/transform_net/batch", joint=True)
def _(rng):
    net = TransformNet("batch", channels=(2, 3, 4), num_residual=1)  # 12x12: 8-pixel padding, cropped blocks
    return (lambda x, *p: net(x)), inputs(rng.random((2, 3, 12, 12))) + _fan_in_scaled(rng, net)


@case("models/transform_net/instance-padded", joint=True)
def _(rng):
    net = TransformNet("instance", channels=(2, 3, 4), num_residual=2, padded=True)
    return (lambda x, *p: net(x)), inputs(rng.random((1, 3, 8, 8))) + _fan_in_scaled(rng, net)


@case("models/transform_net/conditional", joint=True)
def _(rng):
    net = TransformNet("conditional", channels=(2, 3, 4), num_residual=1, num_styles=3)
    mix = rng.dirichlet(np.ones(3), 2)
    return (lambda x, *p: net(x, mix)), inputs(rng.random((2, 3, 12, 12))) + _fan_in_scaled(rng, net)


@case("models/texture_net/noise", joint=True)
def _(rng):
    net = TextureNet(num_scales=3, channels=2, norm="batch")
    params = _fan_in_scaled(rng, net)
    z = [rng.random((2, 3, 8 >> k, 8 >> k)) for k in range(3)]
    return (lambda *a: net(list(a[:3]))), inputs(*z) + params


@case("models/texture_net/content-instance", joint=True)
def _(rng):
    net = TextureNet(num_scales=2, channels=2, content=True, norm="instance")
    params = _fan_in_scaled(rng, net)
    z = [rng.random((1, 3, 8 >> k, 8 >> k)) for k in range(2)]
    return (lambda *a: net(list(a[:2]), a[2])), inputs(*z, rng.random((1, 3, 8, 8))) + params


@case("models/adain/decoder", joint=True)
def _(rng):
    net = Decoder("relu2_1", widths=(2, 3, 4, 5, 5))
    params = _fan_in_scaled(rng, net)
    return (lambda t, *p: net(t)), inputs(rng.standard_normal((2, 3, 2, 2))) + params


@case("models/adain/target-and-moment-loss")
def _(rng):
    c, s1, s2 = rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((1, 3, 2, 2))

    def fn(c, s1, s2):
        t = adain_target(c, [s1, s2], [0.3, 0.7], alpha=0.8)
        return t, losses.moment_loss({"a": t}, {"a": s1})
    return fn, inputs(c, s1, s2)


# ---- LeNet-5 (models/lenet.py) ------------------------------------------------------------

@case("models/lenet", joint=True)
def _(rng):
    net = LeNet5()
    params = _fan_in_scaled(rng, net)
    return (lambda x, *p: (net(x), net.features(x))), inputs(rng.random((2, 1, 28, 28))) + params


# ---- autoencoders (models/autoencoder.py) ------------------------------------------------------

@case("models/autoencoder/mlp", joint=True)
def _(rng):
    net = Autoencoder("mlp", (1, 4, 4), (5,), 3, "tanh")
    return (lambda x, *p: net(x)), inputs(rng.random((2, 1, 4, 4))) + _fan_in_scaled(rng, net)


@case("models/vae/conv-conditional-elbo", joint=True)
def _(rng):
    """The conditional conv VAE's negative ELBO through encoder, reparameterisation and decoder."""
    net = VAE("conv", (1, 4, 4), (2, 3), 2, "tanh", classes=3)
    params = _fan_in_scaled(rng, net)
    eps, y = Tensor(rng.standard_normal((2, 2))), np.array([0, 2])

    def fn(x, *p):
        mu, logvar = net.encode(x, y)
        out = net.decode(LK.reparameterize(mu, logvar, eps), y)
        return LK.bernoulli_nll(out, x) + LK.gaussian_kl(mu, logvar), net(x, y)  # and the mean's output
    return fn, inputs(rng.random((2, 1, 4, 4))) + params


@case("models/paired-autoencoder", joint=True)
def _(rng):
    net = PairedAutoencoder("mlp", (1, 3, 3), (4,), 2, "tanh", "gaussian")
    return (lambda x, *p: (net(x, "a"), net(x, "b"))), inputs(rng.random((2, 1, 3, 3))) + _fan_in_scaled(rng, net)


# ---- GANs (models/gan.py, dcgan.py) ----------------------------------------------------------

@case("models/gan/mlp-conditional-d-of-g", joint=True)
def _(rng):
    """D(G(z, y), y) of the conditional MLP pair (the generator step's path), and D on data, jointly over
    z, x and both networks' parameters."""
    g = MLPGenerator(3, (5,), (1, 3, 3), "leaky_relu", "tanh", classes=2)
    d = MLPDiscriminator((1, 3, 3), (4, 3), classes=2)
    params = _fan_in_scaled(rng, g) + _fan_in_scaled(rng, d)
    y = np.array([1, 0, 1])
    return (lambda z, x, *p: (d(g(z, y), y), d(x, y))), \
        inputs(rng.standard_normal((3, 3)), rng.uniform(-1, 1, (3, 1, 3, 3))) + params


@case("models/gan/mlp-points", joint=True)
def _(rng):
    """The linear-output generator of 2-D points and a discriminator of points."""
    g, d = MLPGenerator(2, (4, 3), (2,), "relu", None), MLPDiscriminator((2,), (5,))
    params = _fan_in_scaled(rng, g) + _fan_in_scaled(rng, d)
    return (lambda z, x, *p: (g(z), d(x))), inputs(rng.standard_normal((3, 2)), rng.standard_normal((3, 2))) + params


@case("models/dcgan/28-conditional-d-of-g", joint=True)
def _(rng):
    """The conditional 28x28 DCGAN pair (batch norm in training mode): D(G(z, y), y) jointly over z and
    every parameter of both networks."""
    g = DCGANGenerator(28, nz=3, ngf=1, channels=1, classes=2)
    d = DCGANDiscriminator(28, ndf=1, channels=1, classes=2)
    params = _fan_in_scaled(rng, g) + _fan_in_scaled(rng, d)
    y = np.array([0, 1, 1])
    return (lambda z, *p: d(g(z, y), y)), inputs(rng.standard_normal((3, 3))) + params


@case("models/dcgan/64", joint=True)
def _(rng):
    """The 64x64 generator, and the 64x64 critic without batch norm, each on its own input."""
    g = DCGANGenerator(64, nz=2, ngf=1, channels=3)
    d = DCGANDiscriminator(64, ndf=1, channels=3, batch_norm=False)
    params = _fan_in_scaled(rng, g) + _fan_in_scaled(rng, d)
    return (lambda z, x, *p: (g(z), d(x))), \
        inputs(rng.standard_normal((2, 2)), rng.uniform(-1, 1, (2, 3, 64, 64))) + params
