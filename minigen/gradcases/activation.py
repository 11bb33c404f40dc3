"""Gradcheck cases: activations (inputs kept away from kinks and thresholds)."""
import numpy as np

from .. import functional as F
from . import case, inputs


def _away_from_zero(rng, shape, margin=0.1, high=3.0):
    return rng.uniform(margin, high, shape) * rng.choice([-1.0, 1.0], shape)


@case("relu")
def _(rng):
    return F.relu, inputs(_away_from_zero(rng, (4, 5)))


@case("relu/inplace")
def _(rng):
    # over the output of a product (which keeps its inputs, not its output)
    return (lambda x, y: F.relu(x * y, inplace=True)), inputs(_away_from_zero(rng, (4, 5)), rng.uniform(0.5, 2, (4, 5)))


@case("leaky_relu")
def _(rng):
    return (lambda x: F.leaky_relu(x, 0.2)), inputs(_away_from_zero(rng, (4, 5)))


@case("sigmoid/wide-range")
def _(rng):
    return F.sigmoid, inputs(np.concatenate([rng.standard_normal(10), [-40.0, -12.0, 12.0, 40.0]]))


@case("tanh")
def _(rng):
    return F.tanh, inputs(rng.standard_normal((3, 5)) * 1.5)


@case("softplus/beta")
def _(rng):
    # beta x spans both branches of the stable form and the linear region beyond 20.
    x = np.concatenate([rng.standard_normal(10) * 2, [-30.0, -8.0, 15.0, 30.0]])
    return (lambda t: F.softplus(t, beta=2.0)), inputs(x)


@case("softplus/low-threshold")
def _(rng):
    x = np.concatenate([rng.uniform(-3, 0.8, 6), rng.uniform(1.2, 3, 6)])  # away from the threshold 1
    return (lambda t: F.softplus(t, threshold=1.0)), inputs(x)


@case("elu")
def _(rng):
    return (lambda x: F.elu(x, alpha=1.5)), inputs(_away_from_zero(rng, (4, 5)))


@case("softmax/axis1")
def _(rng):
    return (lambda x: F.softmax(x, axis=1)), inputs(rng.standard_normal((2, 5, 3)) * 2)


@case("log_softmax/large-logits")
def _(rng):
    # Logits near +-50 would overflow a naive exp in float32; the stable form does not care.
    return F.log_softmax, inputs(rng.standard_normal((3, 6)) + rng.choice([-50.0, 50.0], (3, 1)))


@case("log_softmax/axis0")
def _(rng):
    return (lambda x: F.log_softmax(x, axis=0)), inputs(rng.standard_normal((4, 5)))
