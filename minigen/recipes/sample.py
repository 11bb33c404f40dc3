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
