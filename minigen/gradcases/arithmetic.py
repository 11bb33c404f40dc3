"""Gradcheck cases: elementwise arithmetic (inputs kept away from kinks and poles)."""
import numpy as np

from .. import functional as F
from . import case, inputs


def _away_from_zero(rng, shape, margin=0.2):
    x = rng.uniform(margin, 1.5, shape)
    return x * rng.choice([-1.0, 1.0], shape)


@case("add/broadcast")
def _(rng):
    return F.add, inputs(rng.standard_normal((3, 4)), rng.standard_normal((4,)))


@case("sub/broadcast")
def _(rng):
    return F.sub, inputs(rng.standard_normal((2, 1, 3)), rng.standard_normal((4, 3)))


@case("mul/broadcast")
def _(rng):
    return F.mul, inputs(rng.standard_normal((2, 3, 1)), rng.standard_normal((1, 3, 4)))


@case("div/broadcast")
def _(rng):
    return F.div, inputs(rng.standard_normal((3, 4)), _away_from_zero(rng, (3, 1)))


@case("neg")
def _(rng):
    return F.neg, inputs(rng.standard_normal((5,)))


@case("pow/cube")
def _(rng):
    return (lambda x: F.pow(x, 3)), inputs(rng.standard_normal((4, 3)))


@case("pow/fractional")
def _(rng):
    return (lambda x: F.pow(x, 1.5)), inputs(rng.uniform(0.3, 2.0, (4, 3)))


@case("exp")
def _(rng):
    return F.exp, inputs(rng.standard_normal((3, 5)))


@case("log")
def _(rng):
    return F.log, inputs(rng.uniform(0.2, 3.0, (3, 5)))


@case("sqrt")
def _(rng):
    return F.sqrt, inputs(rng.uniform(0.2, 3.0, (3, 5)))


@case("abs")
def _(rng):
    return F.abs, inputs(_away_from_zero(rng, (3, 5)))


@case("clamp")
def _(rng):
    x = rng.uniform(-2, 2, (6, 5))
    x[np.abs(np.abs(x) - 1) < 0.05] = 0.0  # keep away from the bounds
    return (lambda t: F.clamp(t, -1.0, 1.0)), inputs(x)


@case("maximum/broadcast")
def _(rng):
    a = rng.standard_normal((3, 4))
    b = a[:1] + _away_from_zero(rng, (1, 4), 0.05)
    return F.maximum, inputs(a, b)


@case("minimum")
def _(rng):
    a = rng.standard_normal((3, 4))
    return F.minimum, inputs(a, a + _away_from_zero(rng, (3, 4), 0.05))


@case("where")
def _(rng):
    cond = rng.random((3, 4)) > 0.5
    return (lambda a, b: F.where(cond, a, b)), inputs(rng.standard_normal((3, 4)), rng.standard_normal((4,)))


@case("astype/float32-roundtrip", eps=1e-2, atol=1e-4, rtol=1e-3)
def _(rng):
    # The float32 stage rounds to ~1e-7, so the step must be large (the map is linear).
    return (lambda x: F.astype(F.astype(x, np.float32) * 2.0, np.float64)), inputs(rng.standard_normal((4,)))
