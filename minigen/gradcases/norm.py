"""Gradcheck cases: batch, instance and group norm, AdaIN, conditional instance norm.

Inputs are standard normal, so no group has a near-zero variance (where the
normalisation is a steep function of x and central differences lose accuracy).
"""
import numpy as np

from .. import functional as F
from . import case, inputs


def _affine(rng, c):
    return rng.uniform(0.5, 1.5, c), rng.standard_normal(c)


@case("batch_norm/train-affine")
def _(rng):
    x = rng.standard_normal((3, 2, 3, 2))
    running = np.zeros(2), np.ones(2)  # updated on every call; the output does not depend on them
    return (lambda x, w, b: F.batch_norm(x, *running, w, b, training=True)), inputs(x, *_affine(rng, 2))


@case("batch_norm/train-plain-2d")
def _(rng):
    return (lambda x: F.batch_norm(x, None, None, training=True)), inputs(rng.standard_normal((6, 3)))


@case("batch_norm/eval-affine")
def _(rng):
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    return ((lambda x, w, b: F.batch_norm(x, mean, var, w, b)),
            inputs(rng.standard_normal((2, 3, 2, 3)), *_affine(rng, 3)))


@case("batch_norm/eval-plain")
def _(rng):
    mean, var = rng.standard_normal(2), rng.uniform(0.5, 2.0, 2)
    return (lambda x: F.batch_norm(x, mean, var)), inputs(rng.standard_normal((2, 2, 3, 3)))


@case("instance_norm/affine")
def _(rng):
    return F.instance_norm, inputs(rng.standard_normal((2, 3, 3, 3)), *_affine(rng, 3))


@case("instance_norm/plain")
def _(rng):
    return F.instance_norm, inputs(rng.standard_normal((2, 2, 4, 3)))


@case("instance_norm/large")
def _(rng):
    return F.instance_norm, inputs(rng.standard_normal((2, 3, 8, 7)))  # checked along random directions


@case("group_norm/groups-1-affine")
def _(rng):
    return (lambda x, w, b: F.group_norm(x, 1, w, b)), inputs(rng.standard_normal((2, 4, 2, 3)), *_affine(rng, 4))


@case("group_norm/groups-2-affine")
def _(rng):
    return (lambda x, w, b: F.group_norm(x, 2, w, b)), inputs(rng.standard_normal((2, 4, 2, 3)), *_affine(rng, 4))


@case("group_norm/groups-3-plain")
def _(rng):
    return (lambda x: F.group_norm(x, 3)), inputs(rng.standard_normal((2, 6, 2, 2)))


@case("adain/same-size")
def _(rng):
    return F.adain, inputs(rng.standard_normal((2, 3, 3, 3)), rng.standard_normal((2, 3, 3, 3)))


@case("adain/different-size")
def _(rng):
    return F.adain, inputs(rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 2, 5, 2)))


@case("adain/one-style")
def _(rng):
    return F.adain, inputs(rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((1, 2, 4, 4)))


@case("conditional_instance_norm/indices")
def _(rng):
    styles = np.array([2, 0, 2])
    return ((lambda x, g, b: F.conditional_instance_norm(x, g, b, styles)),
            inputs(rng.standard_normal((3, 2, 3, 3)), rng.uniform(0.5, 1.5, (4, 2)), rng.standard_normal((4, 2))))


@case("conditional_instance_norm/mixing")
def _(rng):
    w = rng.dirichlet(np.ones(3), size=2)  # convex combinations; the weights are checked too
    return F.conditional_instance_norm, inputs(rng.standard_normal((2, 2, 3, 3)), rng.uniform(0.5, 1.5, (3, 2)),
                                               rng.standard_normal((3, 2)), w)
