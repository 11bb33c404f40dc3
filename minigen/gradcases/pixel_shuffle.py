"""Gradcheck cases: pixel_shuffle, pixel_unshuffle."""
from .. import functional as F
from . import case, inputs


@case("pixel_shuffle/r2")
def _(rng):
    return (lambda x: F.pixel_shuffle(x, 2)), inputs(rng.standard_normal((1, 8, 2, 3)))


@case("pixel_shuffle/r3-batch")
def _(rng):
    return (lambda x: F.pixel_shuffle(x, 3)), inputs(rng.standard_normal((2, 9, 2, 1)))


@case("pixel_unshuffle/r2")
def _(rng):
    return (lambda x: F.pixel_unshuffle(x, 2)), inputs(rng.standard_normal((2, 1, 4, 6)))
