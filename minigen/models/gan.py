"""GAN networks: Goodfellow et al., "Generative Adversarial Nets" (NeurIPS 2014) as multilayer
perceptrons, and the conditional GAN of Mirza & Osindero (2014). The convolutional DCGAN pair is
in ``dcgan.py``; the losses of the game in ``losses.adversarial``.

A generator G maps a code z ~ N(0, I) of ``nz`` numbers to a sample; a
discriminator D maps a sample to one real number per row:

    G: z -> Linear -> act -> ... -> Linear -> out      out = tanh (images, in [-1, 1]) or linear (points)
    D: x flattened -> Linear -> LeakyReLU(0.2) [-> Dropout] -> ... -> Linear -> one value

D's value is a logit l (D(x) = σ(l) is the probability that x is real) for
the BCE and least-squares losses, and the critic value f(x) for WGAN: the
same network serves as discriminator and as WGAN critic, the losses read its
output differently and none applies a sigmoid inside the network.

``shape`` is (C, H, W) for images or (d,) for points (the 2-D toys, a 1-D
Gaussian). Images live in [-1, 1] inside the game (tanh output, data scaled
by 2x - 1) and come out in [0, 1]; points come out as they are.

Conditional networks (``classes`` > 0) join the one-hot label y to their
input: G reads [z, y], D reads [flattened x, y] (the conv nets of dcgan.py
join y as constant maps instead). A conditional network refuses missing or
out-of-range labels; an unconditional one refuses labels.
"""
import math

import numpy as np

from .. import backend
from .. import functional as F
from .. import nn
from ..tensor import Tensor, no_grad
from .autoencoder import ACTIVATIONS, one_hot
from .registry import SizeRule, register

OUTPUTS = ("tanh", None)


def check_common(shape, nz, classes):
    """ValueErrors for a bad sample shape, code size (None: not checked) or class count."""
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ValueError(f"shape must be (C, H, W) for images or (d,) for points, not {shape}")
    if nz is not None and nz < 1:
        raise ValueError(f"nz (the code size) must be positive, not {nz}")
    if classes < 0:
        raise ValueError(f"classes must be >= 0 (0: unconditional), not {classes}")


def _check_mlp(activation, hidden):
    if activation not in ACTIVATIONS or activation is None:
        raise ValueError(f"activation must be one of {[a for a in ACTIVATIONS if a]}, not {activation!r}")
    if any(h < 1 for h in hidden):
        raise ValueError(f"hidden widths must be positive, not {hidden}")


def size_rule(shape):
    """Exactly the trained size for images (the layers fix it); no rule for points."""
    return SizeRule(shape[1], shape[1]) if len(shape) == 3 else SizeRule(1, 1)


def condition(x, labels, classes, maps=False):
    """x joined to the one-hot ``labels``: as extra features of the rows of x (N, F), or with
    ``maps`` as ``classes`` constant channels of images x (N, C, H, W); x itself when unconditional."""
    if not classes:
        if labels is not None:
            raise ValueError("this network is unconditional: it takes no labels")
        return x
    onehot = one_hot(labels, classes, x)
    if not maps:
        return F.concat([x, onehot], axis=1)
    n, _, h, w = x.shape
    return F.concat([x, F.expand(onehot.reshape(n, classes, 1, 1), (n, classes, h, w))], axis=1)


class _Generator(nn.Module):
    """What every generator shares: the code, the labels and the samples. Subclasses set ``nz``,
    ``classes`` and ``shape`` and define ``forward(z, labels=None)`` -> (N, *shape)."""

    @property
    def latent(self):
        """The code size (``nz``): the name the sampling code reads."""
        return self.nz

    @property
    def images(self):
        """True when the samples are images (C, H, W); False for points (d,)."""
        return len(self.shape) == 3

    def size_rule(self):
        return size_rule(self.shape)

    def _dtype(self):
        return self.parameters()[0].dtype

    def codes(self, n, rng=None):
        """A host array (n, nz) of codes z ~ N(0, I) drawn with ``rng`` (default: minigen's shared
        generator, ``backend.rng()``), in the dtype of the parameters."""
        rng = rng if rng is not None else backend.rng()
        return rng.standard_normal((n, self.nz)).astype(self._dtype())

    def noise(self, n, rng=None, device="cpu"):
        """``codes(n, rng)`` as a Tensor on ``device`` (the generator's input in a training step)."""
        return Tensor(backend.to_device(self.codes(n, rng), device))

    def sample_labels(self, n):
        """The labels of n conditional samples: 0, 1, ..., classes-1, 0, 1, ... (None if unconditional)."""
        return np.arange(n) % self.classes if self.classes else None

    def to_image(self, out):
        """Images in [0, 1] of generator outputs in [-1, 1]: (out + 1) / 2, clipped (a linear output
        may leave the range)."""
        return F.clamp((out + 1) * 0.5, 0.0, 1.0)

    def decode_images(self, z, labels=None, device="cpu"):
        """Host arrays of codes z (n, nz): images (n, C, H, W) in [0, 1], or the points (n, d) themselves."""
        zt = Tensor(backend.to_device(np.asarray(z, self._dtype()), device))
        with no_grad():
            out = self(zt, labels)
            return (self.to_image(out) if self.images else out).numpy()

    def sample(self, n, h=None, w=None, rng=None, device="cpu", labels=None):
        """n samples (host array) of z ~ N(0, I) drawn with ``rng`` (default: seeded 0): images in [0, 1]
        or points, as ``decode_images``; h and w are ignored (the size is fixed); ``labels`` for a
        conditional generator (default: cycling through the classes). Batch-norm generators use the
        statistics of their mode (``eval()`` for the running ones)."""
        z = self.codes(n, rng if rng is not None else np.random.default_rng(0))
        labels = self.sample_labels(n) if labels is None and self.classes else labels
        return self.decode_images(z, labels, device)


class _Discriminator(nn.Module):
    """What every discriminator shares: the sample shape, the classes and the size rule."""

    def size_rule(self):
        return size_rule(self.shape)


def _layers(sizes, activation, dropout=0.0):
    """Linear layers between ``sizes``, each hidden one followed by ``activation`` (and dropout)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(nn.Dropout(dropout))
    return layers


@register("gan-generator")
class MLPGenerator(_Generator):
    """z (N, nz) [and labels (N,)] -> samples (N, *shape): a perceptron with ``hidden`` widths."""

    def __init__(self, nz=100, hidden=(256, 512, 1024), shape=(1, 28, 28), activation="relu", output="tanh",
                 classes=0):
        super().__init__()
        shape, hidden, classes = tuple(int(s) for s in shape), tuple(int(h) for h in hidden), int(classes or 0)
        check_common(shape, int(nz), classes)
        _check_mlp(activation, hidden)
        if output not in OUTPUTS:
            raise ValueError(f"output must be 'tanh' or None (linear), not {output!r}")
        self.nz, self.hidden, self.shape = int(nz), hidden, shape
        self.activation, self.output, self.classes = activation, output, classes
        layers = _layers([self.nz + self.classes, *hidden, math.prod(shape)], activation)
        self.net = nn.Sequential(*layers, *([nn.Tanh()] if output == "tanh" else []))

    def config(self):
        return {"nz": self.nz, "hidden": list(self.hidden), "shape": list(self.shape),
                "activation": self.activation, "output": self.output, "classes": self.classes}

    def forward(self, z, labels=None):
        out = self.net(condition(z, labels, self.classes))
        return out.reshape(out.shape[0], *self.shape)


@register("gan-discriminator")
class MLPDiscriminator(_Discriminator):
    """x (N, *shape) [and labels (N,)] -> (N,) logits or critic values: a perceptron with ``hidden``
    widths, LeakyReLU(0.2) by default, optional dropout after each hidden layer."""

    def __init__(self, shape=(1, 28, 28), hidden=(512, 256), activation="leaky_relu", dropout=0.0, classes=0):
        super().__init__()
        shape, hidden, classes = tuple(int(s) for s in shape), tuple(int(h) for h in hidden), int(classes or 0)
        check_common(shape, None, classes)
        _check_mlp(activation, hidden)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), not {dropout}")
        self.shape, self.hidden, self.activation = shape, hidden, activation
        self.dropout, self.classes = float(dropout), classes
        self.net = nn.Sequential(*_layers([math.prod(shape) + self.classes, *hidden, 1], activation, self.dropout))

    def config(self):
        return {"shape": list(self.shape), "hidden": list(self.hidden), "activation": self.activation,
                "dropout": self.dropout, "classes": self.classes}

    def forward(self, x, labels=None):
        return self.net(condition(x.reshape(x.shape[0], -1), labels, self.classes)).reshape(-1)
