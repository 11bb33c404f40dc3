"""Gradcheck cases: reductions."""
from .. import functional as F
from . import case, inputs


@case("sum/axes-keepdims")
def _(rng):
    return (lambda x: F.sum(x, (0, 2), keepdims=True)), inputs(rng.standard_normal((2, 3, 4)))


@case("sum/all")
def _(rng):
    return F.sum, inputs(rng.standard_normal((2, 3, 4)))


@case("mean/axis")
def _(rng):
    return (lambda x: F.mean(x, -1)), inputs(rng.standard_normal((2, 3, 5)))


@case("var/biased")
def _(rng):
    return (lambda x: F.var(x, (1, 2))), inputs(rng.standard_normal((2, 3, 4)))


@case("var/unbiased-keepdims")
def _(rng):
    return (lambda x: F.var(x, 0, keepdims=True, unbiased=True)), inputs(rng.standard_normal((5, 3)))


@case("max/axis")
def _(rng):
    return (lambda x: F.max(x, 1)), inputs(rng.standard_normal((3, 6, 2)))


@case("max/all")
def _(rng):
    return F.max, inputs(rng.standard_normal((3, 4)))


@case("logsumexp/axis")
def _(rng):
    return (lambda x: F.logsumexp(x, 1, keepdims=True)), inputs(3 * rng.standard_normal((4, 5)))
