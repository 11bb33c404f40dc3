"""Activations against NumPy formulas evaluated in float64.

Elementwise ops: backward == g * f'(x) with f' written out. Softmax and
log-softmax: backward == g times the explicit Jacobian (built with einsum).
"""
import warnings

import numpy as np
import pytest

import minigen.functional as F
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
SHAPES = [(1,), (1, 7), (2, 3, 5)]
OPS = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "elu", "softmax", "log_softmax"]


def _array(rng, shape, dtype, layout):
    """Random data (scale 3) as a C-contiguous array or a transposed (non-contiguous) view."""
    if layout == "transposed":
        return (3 * rng.standard_normal(shape[::-1])).astype(dtype).T
    return (3 * rng.standard_normal(shape)).astype(dtype)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x, beta, threshold):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


# name: (op, f(x), f'(x)), the NumPy functions on float64 data
ELEMENTWISE = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.1), lambda x: np.where(x > 0, x, 0.1 * x),
                   lambda x: np.where(x > 0, 1.0, 0.1)),
    "leaky_relu-default": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), lambda x: np.where(x > 0, 1.0, 0.01)),
    "leaky_relu-steep": (lambda t: F.leaky_relu(t, 2.0), lambda x: np.where(x > 0, x, 2.0 * x),  # slope outside [0, 1]
                         lambda x: np.where(x > 0, 1.0, 2.0)),
    "sigmoid": (F.sigmoid, _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "tanh": (F.tanh, np.tanh, lambda x: 1 / np.cosh(x) ** 2),
    "softplus": (F.softplus, lambda x: _softplus(x, 1, 20), _sigmoid),
    "softplus-beta-threshold": (lambda t: F.softplus(t, beta=3, threshold=4),
                                lambda x: _softplus(x, 3, 4), lambda x: np.where(3 * x > 4, 1.0, _sigmoid(3 * x))),
    "elu": (F.elu, lambda x: np.where(x > 0, x, np.exp(x) - 1), lambda x: np.where(x > 0, 1.0, np.exp(x))),
    "elu-alpha": (lambda t: F.elu(t, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)),
                  lambda x: np.where(x > 0, 1.0, 0.5 * np.exp(x))),
}


def _run(op, x_np, device, rng):
    x = Tensor(to_device(x_np, device), requires_grad=True)
    y = op(x)
    g = rng.standard_normal(y.shape).astype(x_np.dtype)
    y.backward(to_device(g, device))
    return x, y, g.astype(np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_matches_numpy(name, shape, layout, dtype, device, rng, threads):
    op, f, df = ELEMENTWISE[name]
    x_np = _array(rng, shape, dtype, layout)
    x, y, g = _run(op, x_np, device, rng)
    x64 = x_np.astype(np.float64)
    assert y.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(y.numpy(), f(x64), **_tol(dtype))
    np.testing.assert_allclose(to_device(x.grad, "cpu"), g * df(x64), **_tol(dtype))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _jacobian_product(g, jac):
    """dx_j = sum_i g_i dy_i/dx_j, with jac[..., i, j] = dy_i/dx_j over the last axis."""
    return np.einsum("...i,...ij->...j", g, jac)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("shape, axis", [((1, 7), -1), ((2, 3, 5), 1), ((2, 3, 5), 0), ((4,), 0)])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_matches_jacobian(log, shape, axis, layout, dtype, device, rng):
    x_np = _array(rng, shape, dtype, layout)
    op = F.log_softmax if log else F.softmax
    x, y, g = _run(lambda t: op(t, axis=axis), x_np, device, rng)
    s = _softmax(x_np.astype(np.float64), axis)
    expected = np.log(s) if log else s
    assert y.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(y.numpy(), expected, **_tol(dtype))

    # Move the softmax axis last and build the Jacobian there.
    s_last, g_last = np.moveaxis(s, axis, -1), np.moveaxis(g, axis, -1)
    eye = np.eye(s_last.shape[-1])
    if log:  # d log s_i / d x_j = delta_ij - s_j
        jac = eye - s_last[..., None, :]
    else:    # d s_i / d x_j = s_i (delta_ij - s_j)
        jac = s_last[..., :, None] * (eye - s_last[..., None, :])
    expected_grad = np.moveaxis(_jacobian_product(g_last, jac), -1, axis)
    np.testing.assert_allclose(to_device(x.grad, "cpu"), expected_grad, **_tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_overflow_for_extreme_inputs(dtype):
    x_np = np.array([[-1e4, -100.0, 0.5, 100.0, 1e4]], dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would raise here
        outputs = {name: op(Tensor(x_np, requires_grad=True)) for name, op in [
            ("sigmoid", F.sigmoid), ("softplus", lambda t: F.softplus(t, threshold=1e9)),
            ("elu", F.elu), ("softmax", F.softmax), ("log_softmax", F.log_softmax)]}
        for y in outputs.values():
            y.backward(np.ones(y.shape, dtype))
    for name, y in outputs.items():
        assert np.all(np.isfinite(y.data)), name
    np.testing.assert_allclose(outputs["sigmoid"].data, [[0, 0, _sigmoid(0.5), 1, 1]], atol=1e-7)
    np.testing.assert_allclose(outputs["softplus"].data, [[0, 0, np.log1p(np.exp(0.5)), 100, 1e4]], rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(outputs["log_softmax"].data[0, -1], 0.0, atol=1e-7)
    np.testing.assert_allclose(outputs["log_softmax"].data[0, 0], -2e4, rtol=1e-6)


def test_numpy_float64_parameters_do_not_upcast_float32():
    x = Tensor(np.linspace(-1, 1, 6, dtype=np.float32))
    for y in (F.leaky_relu(x, np.float64(0.2)), F.elu(x, np.float64(2.0)), F.softplus(x, np.float64(2.0))):
        assert y.dtype == np.float32


CASE_NAMES = [c.name for op in OPS for c in G.select(op)]


def test_every_op_has_gradcheck_cases():
    assert {n.split("/")[0] for n in CASE_NAMES} == set(OPS)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_gradcheck(name):
    report = G.run(G.CASES[name])
    assert report.passed, report.summary()


X = Tensor(np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.softplus(X, beta=0), ValueError, "softplus: beta must be positive"),
    (lambda: F.softmax(X, axis=2), ValueError, "softmax: axis 2 is out of range for 2-d input"),
    (lambda: F.log_softmax(X, axis=-3), ValueError, "log_softmax: axis -3 is out of range"),
    (lambda: F.softmax(X, axis=None), TypeError, "softmax: axis must be an int"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_relu_inplace_overwrites_and_matches(layout, device, threads, rng):
    a, b = _array(rng, (2, 3, 5), np.float64, layout), rng.uniform(0.5, 2, (2, 3, 5))
    expected = {}
    for inplace in (False, True):
        x, w = Tensor(to_device(a, device), requires_grad=True), Tensor(to_device(b, device))
        h = x * w
        y = F.relu(h, inplace=inplace)
        assert (y.data is h.data) == inplace  # in place: the product's array now holds the result
        y.backward(to_device(np.arange(a.size, dtype=float).reshape(a.shape), device))
        expected.setdefault("y", y.numpy())
        expected.setdefault("grad", to_device(x.grad, "cpu"))
        np.testing.assert_array_equal(y.numpy(), expected["y"])
        np.testing.assert_array_equal(to_device(x.grad, "cpu"), expected["grad"])
    np.testing.assert_array_equal(expected["y"], np.maximum(a * b, 0))


def test_relu_inplace_refuses_values_still_needed():
    leaf = Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    with pytest.raises(ValueError, match="leaf that requires grad"):
        F.relu(leaf, inplace=True)
    s = F.sigmoid(leaf)  # sigmoid's backward reads its output
    with pytest.raises(ValueError, match="kept by Sigmoid for its backward"):
        F.relu(s, inplace=True)
    np.testing.assert_array_equal(leaf.data, [-1.0, 2.0])
    free = Tensor(np.array([-1.0, 2.0]))  # no gradient wanted: nothing to protect
    assert F.relu(free, inplace=True).data is free.data
    np.testing.assert_array_equal(free.data, [0.0, 2.0])


@pytest.mark.parametrize("slope", [0.0, 0.2, 1.0, 2.0, -0.5])
def test_leaky_relu_is_exact_on_special_values(slope):
    """The arithmetic select gives x or one rounding of slope x, exactly as np.where does,
    also for infinities, NaN and signed zeros (compared bit for bit)."""
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 3.0, -3.0, 1e-30, -7.5], np.float32)
    g = np.array([1.0, -np.inf, 2.0, np.inf, -1.0, np.nan, 5.0, -0.0, 0.3], np.float32)
    t = Tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):  # -inf times a zero slope
        y = F.leaky_relu(t, slope)
        y.backward(g)
        s = np.float32(slope)
        np.testing.assert_array_equal(y.numpy().view(np.uint32), np.where(x > 0, x, x * s).view(np.uint32))
        np.testing.assert_array_equal(t.grad.view(np.uint32), np.where(x > 0, g, g * s).view(np.uint32))

