"""Gradcheck cases: every layer of minigen.nn at a tiny size in float64, with respect to
the input and every parameter (random parameter values, so no check passes by symmetry).
"""
import contextlib

import numpy as np

from .. import backend, nn
from . import case, inputs


@contextlib.contextmanager
def _float64():
    previous = backend.default_dtype()
    backend.set_default_dtype(np.float64)
    try:
        yield
    finally:
        backend.set_default_dtype(previous)


def _check(rng, make, x, *extra, train=True):
    """(fn, [x, *parameters]) for ``make()`` built in float64 with random parameters.

    The parameters are passed as checked inputs (gradcheck perturbs them in
    place); fn itself calls the layer, which reads them.
    """
    with _float64():
        layer = make()
    layer.train(train)
    for p in layer.parameters():
        p.data[...] = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1.0, 1.0], p.shape)
    return (lambda x, *params: layer(x, *extra)), inputs(x) + layer.parameters()


def _away_from_zero(rng, shape, margin=0.1):
    return rng.uniform(margin, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@case("nn/Linear")
def _(rng):
    return _check(rng, lambda: nn.Linear(3, 2), rng.standard_normal((4, 3)))


@case("nn/Conv2d")
def _(rng):
    return _check(rng, lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), rng.standard_normal((2, 2, 5, 5)))


@case("nn/Conv2d/reflect-groups")
def _(rng):
    make = lambda: nn.Conv2d(4, 2, 3, padding=1, groups=2, bias=False, padding_mode="reflect")  # noqa: E731
    return _check(rng, make, rng.standard_normal((1, 4, 4, 4)))


@case("nn/ConvTranspose2d")
def _(rng):
    make = lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)  # noqa: E731
    return _check(rng, make, rng.standard_normal((1, 2, 3, 3)))


@case("nn/BatchNorm2d/train")
def _(rng):
    return _check(rng, lambda: nn.BatchNorm2d(3), rng.standard_normal((4, 3, 2, 2)))


@case("nn/BatchNorm2d/eval")
def _(rng):
    def make():
        bn = nn.BatchNorm2d(3)
        bn.running_mean = rng.standard_normal(3)
        bn.running_var = rng.uniform(0.5, 2.0, 3)
        return bn
    return _check(rng, make, rng.standard_normal((2, 3, 2, 2)), train=False)


@case("nn/InstanceNorm2d")
def _(rng):
    return _check(rng, lambda: nn.InstanceNorm2d(2), rng.standard_normal((2, 2, 3, 3)))


@case("nn/InstanceNorm2d/affine")
def _(rng):
    return _check(rng, lambda: nn.InstanceNorm2d(2, affine=True), rng.standard_normal((2, 2, 3, 3)))


@case("nn/GroupNorm")
def _(rng):
    return _check(rng, lambda: nn.GroupNorm(2, 4), rng.standard_normal((2, 4, 2, 2)))


@case("nn/ConditionalInstanceNorm2d/indices")
def _(rng):
    return _check(rng, lambda: nn.ConditionalInstanceNorm2d(3, 2), rng.standard_normal((2, 2, 3, 3)),
                  np.array([0, 2]))


@case("nn/ConditionalInstanceNorm2d/mixing")
def _(rng):
    return _check(rng, lambda: nn.ConditionalInstanceNorm2d(3, 2), rng.standard_normal((2, 2, 3, 3)),
                  rng.dirichlet(np.ones(3), 2))


@case("nn/ReLU")
def _(rng):
    return _check(rng, nn.ReLU, _away_from_zero(rng, (2, 3, 2)))


@case("nn/LeakyReLU")
def _(rng):
    return _check(rng, lambda: nn.LeakyReLU(0.2), _away_from_zero(rng, (2, 3, 2)))


@case("nn/Sigmoid")
def _(rng):
    return _check(rng, nn.Sigmoid, 2 * rng.standard_normal((2, 3, 2)))


@case("nn/Tanh")
def _(rng):
    return _check(rng, nn.Tanh, rng.standard_normal((2, 3, 2)))


@case("nn/ELU")
def _(rng):
    return _check(rng, lambda: nn.ELU(0.5), _away_from_zero(rng, (2, 3, 2)))


@case("nn/Softplus")
def _(rng):
    return _check(rng, lambda: nn.Softplus(beta=2.0), rng.standard_normal((2, 3, 2)))


@case("nn/Dropout")
def _(rng):
    drop = nn.Dropout(0.3)
    state = backend.rng().bit_generator.state

    def fn(x):
        backend.rng().bit_generator.state = state  # the same mask at every evaluation
        return drop(x)
    return fn, inputs(rng.standard_normal((3, 4)))


@case("nn/Upsample/nearest")
def _(rng):
    return _check(rng, lambda: nn.Upsample(scale_factor=2), rng.standard_normal((1, 2, 2, 3)))


@case("nn/Upsample/bilinear")
def _(rng):
    return _check(rng, lambda: nn.Upsample(size=(5, 4), mode="bilinear", align_corners=True),
                  rng.standard_normal((1, 2, 3, 3)))


@case("nn/ReflectionPad2d")
def _(rng):
    return _check(rng, lambda: nn.ReflectionPad2d((1, 2, 2, 1)), rng.standard_normal((1, 2, 3, 4)))


@case("nn/Flatten")
def _(rng):
    return _check(rng, nn.Flatten, rng.standard_normal((2, 3, 2, 2)))


@case("nn/Unflatten")
def _(rng):
    return _check(rng, lambda: nn.Unflatten((3, 2, 2)), rng.standard_normal((2, 12)))


@case("nn/MaxPool2d")
def _(rng):
    # A permutation of well-separated values: no ties inside a window.
    x = rng.permutation(32).reshape(1, 2, 4, 4) * 0.1
    return _check(rng, lambda: nn.MaxPool2d(2), x)


@case("nn/AvgPool2d")
def _(rng):
    return _check(rng, lambda: nn.AvgPool2d(3, stride=2, padding=1), rng.standard_normal((1, 2, 5, 5)))


@case("nn/PixelShuffle")
def _(rng):
    return _check(rng, lambda: nn.PixelShuffle(2), rng.standard_normal((1, 8, 2, 2)))


@case("nn/Sequential", joint=True)
def _(rng):
    make = lambda: nn.Sequential(  # noqa: E731
        nn.Conv2d(2, 4, 3, padding=1), nn.InstanceNorm2d(4, affine=True), nn.ReLU(),
        nn.Conv2d(4, 2, 1), nn.Flatten(), nn.Linear(2 * 3 * 3, 3), nn.Tanh())
    return _check(rng, make, rng.standard_normal((2, 2, 3, 3)))
