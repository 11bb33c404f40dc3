"""Gradcheck cases: shape ops (odd sizes, unused split outputs, repeated indices, every pad mode)."""
import numpy as np

from .. import functional as F
from . import case, inputs


@case("reshape/infer")
def _(rng):
    return (lambda x: F.reshape(x, (5, -1))), inputs(rng.standard_normal((2, 3, 5)))


@case("permute")
def _(rng):
    return (lambda x: F.permute(x, (2, 0, 1))), inputs(rng.standard_normal((2, 3, 5)))


@case("transpose")
def _(rng):
    return (lambda x: F.transpose(x, 0, -1)), inputs(rng.standard_normal((3, 1, 5)))


@case("expand/new-dims")
def _(rng):
    return (lambda x: F.expand(x, (2, -1, 4))), inputs(rng.standard_normal((3, 1)))


@case("concat/axis1")
def _(rng):
    return (lambda *xs: F.concat(xs, axis=1)), inputs(
        rng.standard_normal((2, 1, 3)), rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 2, 3)))


@case("stack/last-axis")
def _(rng):
    return (lambda a, b: F.stack([a, b], axis=-1)), inputs(rng.standard_normal((3, 2)), rng.standard_normal((3, 2)))


@case("split/unused-output")
def _(rng):
    def fn(x):
        first, _, last = F.split(x, 3, axis=0)  # pieces of 3, 3, 1; the middle one is unused
        return first, last
    return fn, inputs(rng.standard_normal((7, 3)))


@case("split/sizes")
def _(rng):
    return (lambda x: F.split(x, [1, 0, 4, 2], axis=1)), inputs(rng.standard_normal((2, 7)))


@case("getitem/basic")
def _(rng):
    return (lambda x: F.getitem(x, (slice(1, None), slice(None, None, 2), None, -1))), \
        inputs(rng.standard_normal((4, 5, 3)))


@case("getitem/negative-step")
def _(rng):
    return (lambda x: F.getitem(x, (slice(None, None, -2), Ellipsis, slice(3, 0, -1)))), \
        inputs(rng.standard_normal((5, 2, 4)))


@case("getitem/int-array-repeats")
def _(rng):
    rows = np.array([[0, 2], [2, 4], [0, 0]])
    return (lambda x: F.getitem(x, (rows, slice(1, 3)))), inputs(rng.standard_normal((5, 4)))


@case("getitem/bool-mask")
def _(rng):
    mask = rng.random((4, 3)) > 0.5
    return (lambda x: F.getitem(x, (Ellipsis, mask))), inputs(rng.standard_normal((2, 4, 3)))


@case("flip")
def _(rng):
    return (lambda x: F.flip(x, (0, -1))), inputs(rng.standard_normal((3, 4, 2)))


@case("pad/constant")
def _(rng):
    return (lambda x: F.pad(x, (1, 2, 0, 1), value=0.5)), inputs(rng.standard_normal((2, 3, 4)))


@case("pad/reflect")
def _(rng):
    return (lambda x: F.pad(x, (2, 4, 3, 1), mode="reflect")), inputs(rng.standard_normal((1, 2, 4, 5)))


@case("pad/reflect-three-dims")
def _(rng):
    return (lambda x: F.pad(x, (1, 0, 2, 1, 2, 2), mode="reflect")), inputs(rng.standard_normal((3, 4, 3)))


@case("pad/replicate")
def _(rng):
    return (lambda x: F.pad(x, (2, 1, 1, 3), mode="replicate")), inputs(rng.standard_normal((2, 3, 4)))
