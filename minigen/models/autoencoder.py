"""Autoencoders: the plain AE, the VAE (Kingma & Welling, ICLR 2014) and its conditional form
(Sohn, Lee & Yan, NeurIPS 2015), and the paired autoencoder of face swapping.

An encoder maps an image x (C, H, W) to a code; a decoder maps a code back to
an image. The decoder outputs one value per pixel: logits l for a Bernoulli
likelihood (the image is sigmoid(l)), or the mean m of a unit-variance
Gaussian (the MSE form; the image is m clipped to [0, 1]).

    arch "mlp":  x flattened -> Linear -> act -> ... -> Linear -> code
                 code -> Linear -> act -> ... -> Linear -> C*H*W values
    arch "conv": x -> Conv(C, h1, 4, 2, 1) -> act -> Conv(h1, h2, 4, 2, 1) -> act -> flatten -> Linear
                 code -> Linear -> act -> ConvT(h2, h1, 4, 2, 1) -> act -> ConvT(h1, C, 4, 2, 1)
                 (H and W multiples of 4; hidden = (h1, h2))

``hidden=()`` with ``activation=None`` and a Gaussian likelihood is a linear
autoencoder, whose code spans the principal subspace of the data when trained
with the MSE (Baldi & Hornik 1989): the lecture's PCA view of the AE.

The VAE's encoder gives (μ, log σ²) of q(z|x) = N(μ, diag σ²); its prior is
N(0, I). The conditional VAE joins the one-hot label to the encoder's input
(as extra features for the MLP, extra constant channels for the conv net)
and to the code. The losses are in ``losses.likelihood``.
"""
import numpy as np

from .. import backend
from .. import functional as F
from .. import nn
from ..tensor import Tensor, no_grad
from .registry import SizeRule, register

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": lambda: nn.LeakyReLU(0.2), None: None}
LIKELIHOODS = ("bernoulli", "gaussian")


def _act(name):
    return [ACTIVATIONS[name]()] if ACTIVATIONS[name] else []


def _mlp(sizes, activation):
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += _act(activation)
    return nn.Sequential(*layers)


def _check(arch, shape, hidden, latent, activation, likelihood, classes):
    if arch not in ("mlp", "conv"):
        raise ValueError(f"arch must be 'mlp' or 'conv', not {arch!r}")
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be (C, H, W), not {shape}")
    if arch == "conv" and (len(hidden) != 2 or shape[1] % 4 or shape[2] % 4):
        raise ValueError(f"the conv autoencoder needs two hidden widths and sides divisible by 4, not "
                         f"hidden {hidden} and size {shape[2]}x{shape[1]}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {[a for a in ACTIVATIONS if a]} or None, not {activation!r}")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, not {likelihood!r}")
    if latent < 1 or classes < 0 or any(h < 1 for h in hidden):
        raise ValueError(f"latent ({latent}) and hidden sizes {hidden} must be positive, classes ({classes}) >= 0")


class _Coder(nn.Module):
    """What every autoencoder shares: the encoder/decoder builders, the config and the output image."""

    def __init__(self, arch="mlp", shape=(1, 28, 28), hidden=(400,), latent=20, activation="relu",
                 likelihood="bernoulli", classes=0):
        super().__init__()
        shape, hidden = tuple(int(s) for s in shape), tuple(int(h) for h in hidden)
        _check(arch, shape, hidden, int(latent), activation, likelihood, int(classes))
        self.arch, self.shape, self.hidden, self.latent = arch, shape, hidden, int(latent)
        self.activation, self.likelihood, self.classes = activation, likelihood, int(classes)

    def config(self):
        return {"arch": self.arch, "shape": list(self.shape), "hidden": list(self.hidden), "latent": self.latent,
                "activation": self.activation, "likelihood": self.likelihood, "classes": self.classes}

    def size_rule(self):
        """Exactly the trained size (the fully connected layers fix it)."""
        return SizeRule(self.shape[1], self.shape[1])

    def _encoder(self, out):
        c, h, w = self.shape
        if self.arch == "mlp":
            return _mlp([c * h * w + self.classes, *self.hidden, out], self.activation)
        h1, h2 = self.hidden
        return nn.Sequential(nn.Conv2d(c + self.classes, h1, 4, 2, 1), *_act(self.activation),
                             nn.Conv2d(h1, h2, 4, 2, 1), *_act(self.activation), nn.Flatten(),
                             nn.Linear(h2 * (h // 4) * (w // 4), out))

    def _decoder(self):
        c, h, w = self.shape
        code = self.latent + self.classes
        if self.arch == "mlp":
            return _mlp([code, *self.hidden[::-1], c * h * w], self.activation)
        h1, h2 = self.hidden
        return nn.Sequential(nn.Linear(code, h2 * (h // 4) * (w // 4)), *_act(self.activation),
                             nn.Unflatten((h2, h // 4, w // 4)), nn.ConvTranspose2d(h2, h1, 4, 2, 1),
                             *_act(self.activation), nn.ConvTranspose2d(h1, c, 4, 2, 1))

    def _with_label(self, x, y, image):
        """x joined to the one-hot label y: as features (codes, MLP inputs) or constant channels."""
        if not self.classes:
            return x.reshape(x.shape[0], -1) if image and self.arch == "mlp" else x
        onehot = one_hot(y, self.classes, x)
        if not image or self.arch == "mlp":
            return F.concat([x.reshape(x.shape[0], -1), onehot], axis=1)
        n, _, h, w = x.shape
        return F.concat([x, F.expand(onehot.reshape(n, self.classes, 1, 1), (n, self.classes, h, w))], axis=1)

    def _decode_with(self, decoder, z, y=None):
        out = decoder(self._with_label(z, y, image=False))
        return out.reshape(out.shape[0], *self.shape)

    def to_image(self, out):
        """The image in [0, 1] of a decoder output: sigmoid(logits), or the Gaussian mean clipped."""
        return F.sigmoid(out) if self.likelihood == "bernoulli" else F.clamp(out, 0.0, 1.0)


def one_hot(y, classes, like):
    """(N, classes) one-hot rows of integer labels y, in the dtype and device of the Tensor ``like``."""
    if y is None:
        raise ValueError(f"this model is conditional on {classes} classes: give the labels")
    y = np.asarray(backend.to_host(y.data if isinstance(y, Tensor) else y)).reshape(-1)
    if y.dtype.kind not in "iu" or len(y) != like.shape[0] or (y.size and (y.min() < 0 or y.max() >= classes)):
        raise ValueError(f"labels must be {like.shape[0]} integers from 0 to {classes - 1}, got {y.dtype} "
                         f"{y.shape} {y.min() if y.size else ''}..{y.max() if y.size else ''}")
    rows = np.eye(classes, dtype=like.dtype)[y]
    return Tensor(backend.to_device(rows, like.device))


@register("autoencoder")
class Autoencoder(_Coder):
    """The deterministic autoencoder: code z = e(x), output d(z)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.encoder, self.decoder = self._encoder(self.latent), self._decoder()

    def encode(self, x, y=None):
        return self.encoder(self._with_label(x, y, image=True))

    def decode(self, z, y=None):
        return self._decode_with(self.decoder, z, y)

    def forward(self, x, y=None):
        return self.decode(self.encode(x, y), y)


@register("vae")
class VAE(_Coder):
    """The variational autoencoder (conditional when ``classes`` > 0): encode -> (μ, log σ²)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.encoder, self.decoder = self._encoder(2 * self.latent), self._decoder()

    def encode(self, x, y=None):
        h = self.encoder(self._with_label(x, y, image=True))
        return h[:, :self.latent], h[:, self.latent:]

    def decode(self, z, y=None):
        return self._decode_with(self.decoder, z, y)

    def forward(self, x, y=None):
        """The decoder output at the mean code μ (a deterministic reconstruction)."""
        return self.decode(self.encode(x, y)[0], y)

    def sample_labels(self, n):
        """The labels of n conditional samples: 0, 1, ..., classes-1, 0, 1, ..."""
        return np.arange(n) % self.classes if self.classes else None

    def sample(self, n, h=None, w=None, rng=None, device="cpu", labels=None):
        """n images (n, C, H, W) in [0, 1] decoded from z ~ N(0, I) drawn with ``rng`` (the means of
        p(x|z), as samples are usually shown); ``labels`` for a conditional VAE (default: cycling)."""
        rng = rng if rng is not None else np.random.default_rng(0)
        z = rng.standard_normal((n, self.latent)).astype(backend.default_dtype())
        labels = self.sample_labels(n) if labels is None and self.classes else labels
        return self.decode_images(z, labels, device)

    def decode_images(self, z, labels=None, device="cpu"):
        """Images in [0, 1] (host arrays) of codes z (n, latent)."""
        zt = Tensor(backend.to_device(np.asarray(z, backend.default_dtype()), device))
        with no_grad():
            return self.to_image(self.decode(zt, labels)).numpy()


@register("paired-autoencoder")
class PairedAutoencoder(_Coder):
    """One encoder shared by two domains, one decoder per domain ("a", "b"): decoding a's code with b's
    decoder gives a's content with b's appearance (the face-swap autoencoder)."""

    DOMAINS = ("a", "b")

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        if self.classes:
            raise ValueError("the paired autoencoder takes no classes")
        self.encoder = self._encoder(self.latent)
        self.decoder_a, self.decoder_b = self._decoder(), self._decoder()

    def encode(self, x):
        return self.encoder(self._with_label(x, None, image=True))

    def decode(self, z, domain):
        if domain not in self.DOMAINS:
            raise ValueError(f"domain must be 'a' or 'b', not {domain!r}")
        return self._decode_with(self.decoder_a if domain == "a" else self.decoder_b, z)

    def forward(self, x, domain):
        return self.decode(self.encode(x), domain)
