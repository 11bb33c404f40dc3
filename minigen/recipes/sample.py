"""Samples from any checkpoint whose network generates from noise (``minigen sample CKPT``).

A checkpoint names each network's registered kind and config (``io.checkpoint``),
so ``models.build`` rebuilds it from the file alone; the generator is the
network with a ``sample(n, h, w, rng, device)`` method (a texture network
without a content input today). Networks that transform an input instead (a
transform net, an AdaIN decoder, an SR network, a texture network with a
content input) are refused, naming the command that uses them.
"""
import numpy as np

from .. import models
from ..errors import MinigenError
from ..io import checkpoint
from ..tensor import no_grad
from ..training import memory

# The command that uses the networks of each kind of run.
USED_BY = {"train-style": "minigen stylize --model {path}", "train-sr": "minigen sr --model {path}",
           "dip": "minigen dip"}


def _elsewhere(ckpt, what):
    use = USED_BY.get(ckpt.kind)
    return (f"{ckpt.path}: {what} cannot sample (a {ckpt.kind} checkpoint)"
            + (f"; use `{use.format(path=ckpt.path)}`" if use else ""))


def can_sample(net):
    """True for a network that generates from noise alone: it has ``sample`` and no content input."""
    return callable(getattr(net, "sample", None)) and not getattr(net, "content", False)


def load_generator(path, device="cpu"):
    """(name, network in eval mode) of the checkpoint's network that can sample; one-line errors otherwise."""
    ckpt = checkpoint.load(path)
    built = {}
    for name, spec in ckpt.specs.items():
        if isinstance(spec, dict) and callable(getattr(models.kinds().get(spec.get("kind")), "sample", None)):
            built[name] = models.build(spec["kind"], spec["config"])
    if not built:
        kinds = sorted({s["kind"] for s in ckpt.specs.values() if isinstance(s, dict)}) or ["unnamed"]
        raise MinigenError(_elsewhere(ckpt, f"its {' and '.join(kinds)} network{'s' * (len(kinds) > 1)}"))
    name = "net" if "net" in built else sorted(built)[0]
    net = built[name]
    try:
        net.load_state_dict(ckpt.modules[name])
    except MinigenError as e:
        raise MinigenError(f"{path}: weights do not match the {net.kind} model config: {e}") from None
    if not can_sample(net):  # a texture network that stylises an input
        raise MinigenError(_elsewhere(ckpt, f"its {net.kind} network takes a content image and"))
    return name, net.to(device).eval()


def estimate(net, h, w):
    """Bytes of one sample's forward pass: the feed-forward estimate of its kind, else the output's."""
    from .feedforward.methods import ACTIVATIONS
    rule = net.size_rule()
    h, w = rule.fit(h), rule.fit(w)
    if net.kind in ACTIVATIONS:
        return ACTIVATIONS[net.kind](net.config(), h, w)
    return 4 * 3 * h * w


def draw(net, count, h, w, seed=0, device="cpu", max_memory=None):
    """(count, 3, h, w) samples in [0, 1] from ``net.sample`` with a generator seeded by ``seed``, after the
    memory guard."""
    memory.check(f"{count} sample{'s' * (count > 1)} of {w}x{h}", estimate(net, h, w) * count, max_memory,
                 hint="use a smaller --size or --count")
    with no_grad():
        return net.sample(count, h, w, np.random.default_rng(seed), device)


def sample(path, count=1, size=256, seed=0, device="cpu", max_memory=None):
    """(count, 3, size, size) samples from the generator in the checkpoint ``path``."""
    _, net = load_generator(path, device)
    return draw(net, count, size, size, seed, device, max_memory)


# ---- generators from a latent code (VAE now; GANs later) ------------------------------------------
# A code generator has ``latent`` (code size), ``classes`` (0: unconditional), ``shape`` (C, H, W) and
# ``decode_images(z, labels, device)``; codes are drawn from the prior N(0, I).

def is_code_generator(net):
    return callable(getattr(net, "decode_images", None)) and hasattr(net, "latent")


def check_label(net, label):
    """A one-line error unless ``label`` (None: not given) suits the generator's classes."""
    if label is None:
        return
    if not net.classes:
        raise MinigenError(f"--class: this {net.kind} is not conditional (it was trained without labels)")
    if not 0 <= label < net.classes:
        raise MinigenError(f"--class {label}: the classes are 0 to {net.classes - 1}")


def _labels(net, n, label):
    return None if not net.classes else np.full(n, label) if label is not None else np.arange(n) % net.classes


def from_codes(net, count, seed=0, device="cpu", label=None):
    """(images, columns of the grid): ``count`` samples; a conditional generator without ``label`` gives one
    row per class (``count`` // classes each, at least one)."""
    rng = np.random.default_rng(seed)
    if net.classes and label is None:
        per = max(1, count // net.classes)
        labels = np.repeat(np.arange(net.classes), per)
        z = rng.standard_normal((len(labels), net.latent))
        return net.decode_images(z, labels, device), per
    z = rng.standard_normal((count, net.latent))
    return net.decode_images(z, _labels(net, count, label), device), min(count, 8)


def interpolation(net, rows, steps, seed=0, device="cpu", spherical=False, label=None, ends=None):
    """(rows * steps images, steps): each row decodes ``steps`` codes from one code to another, on the
    line or the great circle; ``ends`` (2, latent) gives the two codes of a single row."""
    from .autoencoder import interpolate
    rng = np.random.default_rng(seed)
    pairs = [ends] if ends is not None else [rng.standard_normal((2, net.latent)) for _ in range(rows)]
    z = np.concatenate([interpolate(a, b, steps, spherical) for a, b in pairs])
    labels = None if not net.classes else np.repeat(_labels(net, len(pairs), label), steps)
    return net.decode_images(z, labels, device), steps


def manifold(net, n, device="cpu", label=None):
    """(n * n images, n): Kingma & Welling's picture of a 2-D code: decoded prior quantiles on a grid."""
    from .autoencoder import manifold_codes
    if net.latent != 2:
        raise MinigenError(f"--manifold: needs a 2-D code; this {net.kind} has {net.latent} dimensions")
    return net.decode_images(manifold_codes(n), _labels(net, n * n, label), device), n
