"""Gradcheck cases: avg_pool2d, max_pool2d.

Max-pool inputs are a permutation of evenly spaced values, so no window has
a tie or a near-tie that the finite-difference step could flip.
"""
import numpy as np

from .. import functional as F
from . import case, inputs


def _distinct(rng, shape):
    return rng.permutation(int(np.prod(shape))).reshape(shape) / 10.0


@case("avg_pool2d/stride-padding")
def _(rng):
    return (lambda x: F.avg_pool2d(x, 3, 2, 1)), inputs(rng.standard_normal((2, 1, 5, 6)))


@case("avg_pool2d/default-stride")
def _(rng):
    return (lambda x: F.avg_pool2d(x, (2, 3))), inputs(rng.standard_normal((1, 2, 4, 7)))


@case("max_pool2d/stride-padding")
def _(rng):
    return (lambda x: F.max_pool2d(x, 3, 2, 1)), inputs(_distinct(rng, (2, 1, 5, 6)))


@case("max_pool2d/overlapping-rect")
def _(rng):
    return (lambda x: F.max_pool2d(x, (2, 3), (1, 2), (1, 0))), inputs(_distinct(rng, (1, 3, 4, 5)))


@case("max_pool2d/tiling")
def _(rng):
    # stride = kernel, sizes divisible: the windows tile the input (VGG's pooling)
    return (lambda x: F.max_pool2d(x, 2)), inputs(_distinct(rng, (2, 2, 4, 6)))
