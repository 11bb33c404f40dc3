"""Normalisation ops: fast path == loop reference (forward, backward, running statistics),
gradient checks, numerical sanity in float32, and argument errors."""
import numpy as np
import pytest

import minigen.functional as F
from minigen import backend
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.functional import norm as N
from minigen.reference import norm as R
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


@pytest.fixture(params=["whole", "blocks", "threads"])
def split(request, monkeypatch):
    """The CPU path in one block, in blocks of one channel (or group), or in those blocks
    spread over three threads, however small the test arrays are."""
    if request.param != "whole":
        monkeypatch.setattr(N, "BLOCK_BYTES", 1)
    monkeypatch.setenv("MINIGEN_NUM_THREADS", "3" if request.param == "threads" else "1")
    monkeypatch.setattr(backend, "PARALLEL_MIN_ELEMENTS", 1)
    return request.param


def _tensor(a, dtype, device, layout="contiguous"):
    if a is None:
        return None
    a = _view(to_device(np.asarray(a, dtype=dtype), device), layout)
    assert a.flags.c_contiguous == (layout == "contiguous")
    return Tensor(a, requires_grad=True)


def _view(x, layout):
    """The same values as a non-contiguous array: a transposed copy viewed back, or a strided slice."""
    if layout == "transposed":
        return x.swapaxes(-1, -2).copy().swapaxes(-1, -2)
    if layout == "strided":
        return x.repeat(2, axis=-1)[..., ::2]
    return x


def _run(fn, arrays, g, dtype, device, layout="contiguous"):
    """fn on tensors made from arrays (the first in the given layout), then backward with g.

    Returns host copies of the output and of the inputs' gradients."""
    tensors = [_tensor(a, dtype, device, layout if i == 0 else "contiguous") for i, a in enumerate(arrays)]
    y = fn(*tensors)
    assert y.dtype == dtype
    y.backward(to_device(g.astype(dtype), device))
    return y.numpy(), [None if t is None else to_device(t.grad, "cpu") for t in tensors]


def _close(actual, expected, dtype):
    np.testing.assert_allclose(actual, expected, **TOL[dtype])


def _affine(rng, c, affine):
    return (rng.uniform(0.5, 1.5, c), rng.standard_normal(c)) if affine else (None, None)


# ---- batch norm ------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape,affine,layout", [
    ((3, 4, 5, 3), True, "contiguous"),
    ((1, 3, 2, 5), False, "contiguous"),   # batch 1
    ((2, 3, 3, 5), True, "transposed"),
    ((5, 3), True, "strided"),            # (N, C) input
    ((2, 3, 7), False, "contiguous"),     # (N, C, L) input
])
def test_batch_norm_matches_reference(shape, affine, layout, training, dtype, device, split):
    rng = np.random.default_rng(10)
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    c = shape[1]
    w, b = _affine(rng, c, affine)
    mean0, var0 = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    running = [to_device(a.astype(dtype), device) for a in (mean0, var0)]

    def fn(x, w, b):
        return F.batch_norm(x, *running, w, b, training=training, momentum=0.3)

    y, (dx, dw, db) = _run(fn, [x, w, b], g, dtype, device, layout)
    y_ref, mean_ref, var_ref = R.batch_norm(x, mean0, var0, w, b, training=training, momentum=0.3)
    dx_ref, dw_ref, db_ref = R.batch_norm_backward(x, g, mean0, var0, w, training=training)
    _close(y, y_ref, dtype)
    _close(dx, dx_ref, dtype)
    if affine:
        _close(dw, dw_ref, dtype)
        _close(db, db_ref, dtype)
    for r, expected in zip(running, (mean_ref, var_ref)):
        assert r.dtype == dtype
        _close(to_device(r, "cpu"), expected, dtype)


def test_batch_norm_running_statistics_tensors_and_none():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 2, 3, 3))
    rm, rv = Tensor(np.zeros(2)), Tensor(np.ones(2))
    F.batch_norm(Tensor(x), rm, rv, training=True)
    _, mean_ref, var_ref = R.batch_norm(x, np.zeros(2), np.ones(2), training=True)
    _close(rm.data, mean_ref, np.float64)
    _close(rv.data, var_ref, np.float64)
    # Only one running statistic, or none: the output is the same.
    only_var = np.ones(2)
    y1 = F.batch_norm(Tensor(x), None, only_var, training=True).data
    y2 = F.batch_norm(Tensor(x), None, None, training=True).data
    _close(only_var, var_ref, np.float64)
    np.testing.assert_array_equal(y1, y2)


def test_batch_norm_eval_uses_running_statistics_only():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((4, 3, 2, 2))
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    whole = F.batch_norm(Tensor(x), mean, var).data
    alone = F.batch_norm(Tensor(x[1:2]), mean, var).data
    np.testing.assert_allclose(whole[1:2], alone, rtol=1e-14)


# ---- instance and group norm ----------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,affine,layout", [
    ((2, 3, 4, 5), True, "contiguous"),
    ((1, 2, 3, 3), False, "contiguous"),
    ((2, 1, 7, 3), True, "transposed"),
    ((3, 2, 5), True, "strided"),
])
def test_instance_norm_matches_reference(shape, affine, layout, dtype, device, split):
    rng = np.random.default_rng(20)
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    w, b = _affine(rng, shape[1], affine)
    y, (dx, dw, db) = _run(F.instance_norm, [x, w, b], g, dtype, device, layout)
    dx_ref, dw_ref, db_ref = R.instance_norm_backward(x, g, w)
    _close(y, R.instance_norm(x, w, b), dtype)
    _close(dx, dx_ref, dtype)
    if affine:
        _close(dw, dw_ref, dtype)
        _close(db, db_ref, dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,groups,affine,layout", [
    ((2, 6, 3, 3), 1, True, "contiguous"),
    ((2, 6, 3, 3), 3, True, "transposed"),
    ((1, 4, 5, 1), 2, False, "contiguous"),
    ((3, 6), 2, True, "strided"),
    ((2, 4, 3, 2), 4, True, "contiguous"),   # one channel per group
])
def test_group_norm_matches_reference(shape, groups, affine, layout, dtype, device, split):
    rng = np.random.default_rng(30)
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    w, b = _affine(rng, shape[1], affine)
    y, (dx, dw, db) = _run(lambda x, w, b: F.group_norm(x, groups, w, b), [x, w, b], g, dtype, device, layout)
    dx_ref, dw_ref, db_ref = R.group_norm_backward(x, g, groups, w)
    _close(y, R.group_norm(x, groups, w, b), dtype)
    _close(dx, dx_ref, dtype)
    if affine:
        _close(dw, dw_ref, dtype)
        _close(db, db_ref, dtype)


def test_group_norm_with_one_channel_per_group_is_instance_norm():
    x = Tensor(np.random.default_rng(31).standard_normal((2, 4, 3, 3)))
    np.testing.assert_allclose(F.group_norm(x, 4).data, F.instance_norm(x).data, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm_on_single_pixel_is_zero_not_nan(dtype):
    # One value per (n, c): variance 0, so xhat = 0 and the output is the bias.
    x = Tensor(np.random.default_rng(32).standard_normal((1, 3, 1, 1)).astype(dtype), requires_grad=True)
    b = np.array([0.5, -1.0, 2.0], dtype)
    y = F.instance_norm(x, None, b)
    y.backward(np.ones(y.shape, dtype))
    np.testing.assert_array_equal(y.data.ravel(), b)
    np.testing.assert_array_equal(x.grad, 0)


@pytest.mark.parametrize("norm", ["batch", "instance", "group"])
def test_float32_large_offset_still_normalises(norm):
    rng = np.random.default_rng(33)
    x = (1000 + 3 * rng.standard_normal((2, 4, 96, 96))).astype(np.float32)
    op = {"batch": lambda t: F.batch_norm(t, None, None, training=True),
          "instance": F.instance_norm, "group": lambda t: F.group_norm(t, 2)}[norm]
    y = op(Tensor(x)).data
    assert y.dtype == np.float32
    # Per normalised group of values: channels for batch norm, (n, c) planes, (n, group) blocks.
    y64 = y.astype(np.float64).reshape((2, 2, -1) if norm == "group" else y.shape)
    axes = {"batch": (0, 2, 3), "instance": (2, 3), "group": (2,)}[norm]
    # A one-pass variance (E[x^2] - mu^2) is off by ~1e-2 here.
    assert np.abs(y64.mean(axis=axes)).max() < 2e-4
    assert np.abs(y64.std(axis=axes) - 1).max() < 1e-4


# ---- AdaIN and conditional instance norm ---------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("content,style", [
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((2, 2, 5, 3), (2, 2, 3, 7)),   # different sizes
    ((3, 2, 4, 4), (1, 2, 2, 3)),   # one style for the batch
    ((1, 1, 3, 5), (1, 1, 1, 2)),
])
def test_adain_matches_reference(content, style, dtype, device, split):
    rng = np.random.default_rng(40)
    x, s = rng.standard_normal(content), 2 + 3 * rng.standard_normal(style)
    y, (dx, ds) = _run(F.adain, [x, s], rng.standard_normal(content), dtype, device, "transposed")
    _close(y, R.adain(x, s), dtype)
    assert dx.shape == content and ds.shape == style


def test_adain_output_carries_style_statistics():
    rng = np.random.default_rng(41)
    s = 5 + 2 * rng.standard_normal((2, 3, 6, 6))
    y = F.adain(Tensor(rng.standard_normal((2, 3, 8, 8))), Tensor(s), eps=0.0).data
    np.testing.assert_allclose(y.mean(axis=(2, 3)), s.mean(axis=(2, 3)), rtol=1e-12)
    np.testing.assert_allclose(y.std(axis=(2, 3)), s.std(axis=(2, 3)), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("styles", [np.array([1, 0, 1]), "weights"])
def test_conditional_instance_norm_matches_reference(styles, dtype, device, split):
    rng = np.random.default_rng(50)
    x, g = rng.standard_normal((3, 2, 4, 3)), rng.standard_normal((3, 2, 4, 3))
    gamma, beta = rng.uniform(0.5, 1.5, (2, 2)), rng.standard_normal((2, 2))
    if isinstance(styles, str):
        styles = rng.dirichlet(np.ones(2), size=3)
    device_styles = to_device(styles if styles.dtype.kind == "i" else styles.astype(dtype), device)
    fn = lambda x, gm, bt: F.conditional_instance_norm(x, gm, bt, device_styles)  # noqa: E731
    y, (dx, dgamma, dbeta) = _run(fn, [x, gamma, beta], g, dtype, device, "strided")
    _close(y, R.conditional_instance_norm(x, gamma, beta, styles), dtype)
    # dgamma_s = sum_n w_ns sum_hw g xhat: the instance-norm affine gradient, mixed by the weights.
    w = np.eye(2)[styles] if styles.dtype.kind == "i" else styles
    xhat = R.instance_norm(x)
    _close(dgamma, w.T @ (g * xhat).sum(axis=(2, 3)), dtype)
    _close(dbeta, w.T @ g.sum(axis=(2, 3)), dtype)
    _close(dx, R.instance_norm_backward(x, g * (w @ gamma)[:, :, None, None])[0], dtype)


def test_conditional_instance_norm_indices_equal_one_hot_weights():
    rng = np.random.default_rng(51)
    x = Tensor(rng.standard_normal((3, 2, 3, 3)))
    gamma, beta = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    idx = np.array([3, 0, 3])
    np.testing.assert_array_equal(F.conditional_instance_norm(x, gamma, beta, idx).data,
                                  F.conditional_instance_norm(x, gamma, beta, np.eye(4)[idx]).data)


def test_conditional_instance_norm_mixing_weights_get_gradients():
    rng = np.random.default_rng(52)
    w = Tensor(rng.dirichlet(np.ones(3), size=2), requires_grad=True)
    y = F.conditional_instance_norm(Tensor(rng.standard_normal((2, 2, 3, 3))), rng.standard_normal((3, 2)),
                                    rng.standard_normal((3, 2)), w)
    y.sum().backward()
    assert w.grad.shape == (2, 3) and np.abs(w.grad).max() > 0


# ---- gradient checks and errors -------------------------------------------------

NORM_CASES = [c for op in ("batch_norm", "instance_norm", "group_norm", "adain", "conditional_instance_norm")
              for c in G.select(op)]


def test_every_norm_op_has_cases():
    names = {c.name.split("/")[0] for c in NORM_CASES}
    assert names == {"batch_norm", "instance_norm", "group_norm", "adain", "conditional_instance_norm"}


@pytest.mark.parametrize("c", NORM_CASES, ids=lambda c: c.name)
def test_gradcheck(c):
    report = G.run(c)
    assert report.passed, report.summary()


def _x(*shape):
    return Tensor(np.zeros(shape))


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.batch_norm(_x(2, 3, 4, 4), None, None, np.ones(2), training=True), ValueError, r"weight.*\(3,\)"),
    (lambda: F.batch_norm(_x(2, 3, 4, 4), np.zeros(4), np.ones(3)), ValueError, "running_mean"),
    (lambda: F.batch_norm(_x(1, 3, 1, 1), None, None, training=True), ValueError, "more than one value per channel"),
    (lambda: F.batch_norm(_x(4, 3), None, None), ValueError, "needs running_mean and running_var"),
    (lambda: F.batch_norm(_x(3), None, None, training=True), ValueError, r"shape \(3,\)"),
    (lambda: F.batch_norm(np.zeros((2, 3), int), None, None, training=True), TypeError, "floating point"),
    (lambda: F.instance_norm(_x(2, 3)), ValueError, r"instance_norm.*\(2, 3\)"),
    (lambda: F.instance_norm(_x(2, 3, 4, 4), None, np.ones(4)), ValueError, "bias"),
    (lambda: F.group_norm(_x(2, 6, 2, 2), 4), ValueError, "num_groups=4"),
    (lambda: F.group_norm(_x(2, 6, 2, 2), 0), ValueError, "num_groups=0"),
    (lambda: F.group_norm(_x(2, 6, 2, 2), 2.0), TypeError, "integer"),
    (lambda: F.adain(_x(2, 3, 4, 4), _x(2, 4, 4, 4)), ValueError, "channels"),
    (lambda: F.adain(_x(2, 3, 4, 4), _x(3, 3, 4, 4)), ValueError, "batch size"),
    (lambda: F.adain(_x(2, 3, 4, 4), Tensor(np.zeros((2, 3, 4, 4), np.float32))), TypeError, "float32"),
    (lambda: F.conditional_instance_norm(_x(2, 3, 4, 4), np.ones((2, 4)), np.ones((2, 4)), [0, 1]),
     ValueError, r"\(S, 3\)"),
    (lambda: F.conditional_instance_norm(_x(2, 3, 4, 4), np.ones((2, 3)), np.ones((2, 3)), [0, 2]),
     ValueError, r"\[0, 2\)"),
    (lambda: F.conditional_instance_norm(_x(2, 3, 4, 4), np.ones((2, 3)), np.ones((2, 3)), [0]),
     ValueError, r"indices must have shape \(2,\)"),
    (lambda: F.conditional_instance_norm(_x(2, 3, 4, 4), np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3))),
     ValueError, r"weights must have shape \(2, 2\)"),
    (lambda: F.conditional_instance_norm(_x(2, 3, 4, 4), np.ones((2, 3)), np.ones((2, 3)), [True, False]),
     TypeError, "integer indices"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
