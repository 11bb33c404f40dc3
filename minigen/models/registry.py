"""The model protocol: every network has a registered ``kind``, ``config()`` and ``size_rule()``.

- ``@register("kind")`` names a class; ``build(kind, config)`` rebuilds an
  instance from the constructor arguments its ``config()`` returned, which is
  how a checkpoint alone gives back its networks.
- ``size_rule()`` is the one input-size rule: a ``SizeRule(minimum, multiple)``
  saying that every side of an input image must be at least ``minimum``
  pixels and a multiple of ``multiple``; ``check_size(model, h, w)`` applies it.
"""
import importlib
from collections import namedtuple

from ..errors import MinigenError

# The modules whose classes register themselves (imported on the first look-up).
MODULES = ("vgg", "transform_net", "texture_net", "adain", "srcnn", "vdsr", "sr_resnet", "dip", "lenet", "autoencoder",
           "gan", "dcgan")

_KINDS = {}


class SizeRule(namedtuple("SizeRule", "minimum multiple")):
    """Every side of an input must be >= minimum and a multiple of ``multiple``."""

    def fit(self, side):
        """The smallest side >= ``side`` that the rule accepts."""
        side = max(side, self.minimum)
        return -(-side // self.multiple) * self.multiple


def register(kind):
    """Class decorator: record the class under ``kind`` (and set ``cls.kind``)."""
    def decorate(cls):
        for method in ("config", "size_rule"):
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"register({kind!r}): {cls.__name__} has no {method}() method")
        if _KINDS.get(kind, cls) is not cls:
            raise TypeError(f"register({kind!r}): the kind is taken by {_KINDS[kind].__name__}")
        cls.kind = kind
        _KINDS[kind] = cls
        return cls
    return decorate


def kinds():
    """{kind: class} of every registered model."""
    for name in MODULES:
        importlib.import_module(f"{__package__}.{name}")
    return dict(_KINDS)


def build(kind, config):
    """A new model of ``kind`` from its ``config()``; a one-line MinigenError for a bad pair."""
    cls = kinds().get(kind)
    if cls is None:
        raise MinigenError(f"unknown model kind {kind!r}; known: {', '.join(sorted(_KINDS))}")
    if not isinstance(config, dict):
        raise MinigenError(f"the config of a {kind} model must be a mapping, not {type(config).__name__}")
    try:
        return cls(**config)
    except (TypeError, ValueError) as e:
        raise MinigenError(f"cannot build a {kind} model from {config}: {e}") from None


def spec(model):
    """{"kind", "config"} of a registered model (what a checkpoint records to rebuild it), or None."""
    kind = getattr(type(model), "kind", None)
    return {"kind": kind, "config": model.config()} if kind in _KINDS else None


def check_size(model, h, w, what="input"):
    """A ValueError naming the rule unless an h x w ``what`` fits ``model.size_rule()``."""
    rule = model.size_rule()
    if min(h, w) < rule.minimum:
        raise ValueError(f"{what} size {w}x{h} is too small for this {model.kind} network: each side needs at "
                         f"least {rule.minimum} pixels")
    if h % rule.multiple or w % rule.multiple:
        raise ValueError(f"{what} size {w}x{h} does not suit this {model.kind} network: each side must be a "
                         f"multiple of {rule.multiple}")
