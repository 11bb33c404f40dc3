"""matmul and linear against NumPy.

The backward reference is the formula written with einsum on explicitly
broadcast operands, then summed back to each operand's shape:
da[..., i, k] = sum_j g[..., i, j] b[..., k, j],  db[..., k, j] = sum_i a[..., i, k] g[..., i, j].
"""
import numpy as np
import pytest

import minigen.functional as F
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]


def _array(rng, shape, dtype, layout):
    """Random data as a C-contiguous array or a transposed (non-contiguous) view."""
    if layout == "transposed":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    return rng.standard_normal(shape).astype(dtype)


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def _sum_to(grad, shape):
    """grad summed over the leading and size-1 dims that broadcasting stretched."""
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    return grad.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


def _reference_grads(a, b, g):
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = g[..., None] if b.ndim == 1 else g
    g2 = g2[..., None, :] if a.ndim == 1 else g2
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a_full = np.broadcast_to(a2, batch + a2.shape[-2:])
    b_full = np.broadcast_to(b2, batch + b2.shape[-2:])
    da = _sum_to(np.einsum("...ij,...kj->...ik", g2, b_full), a2.shape).reshape(a.shape)
    db = _sum_to(np.einsum("...ik,...ij->...kj", a_full, g2), b2.shape).reshape(b.shape)
    return da, db


PAIRS = [
    ((3, 4), (4, 2)),
    ((1, 5), (5, 1)),
    ((2, 1, 3, 4), (3, 4, 2)),
    ((5,), (5,)),
    ((3,), (2, 3, 4)),
    ((2, 4, 3), (3,)),
    ((4, 3), (2, 3, 5)),
    ((2, 4, 3), (3, 5)),
    ((1, 7, 3), (2, 3, 6)),
    ((3, 1, 2, 5), (1, 4, 5, 3)),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("a_shape, b_shape", PAIRS)
def test_matmul_matches_numpy(a_shape, b_shape, layout, dtype, device, rng):
    a_np, b_np = _array(rng, a_shape, dtype, layout), _array(rng, b_shape, dtype, layout)
    a = Tensor(to_device(a_np, device), requires_grad=True)
    b = Tensor(to_device(b_np, device), requires_grad=True)
    y = a @ b
    expected = a_np.astype(np.float64) @ b_np.astype(np.float64)
    assert y.dtype == dtype and y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, **_tol(dtype))

    g = rng.standard_normal(expected.shape).astype(dtype)
    y.backward(to_device(g, device))
    da, db = _reference_grads(a_np.astype(np.float64), b_np.astype(np.float64), g.astype(np.float64))
    for t, ref in ((a, da), (b, db)):
        assert t.grad.dtype == dtype and t.grad.shape == ref.shape
        np.testing.assert_allclose(to_device(t.grad, "cpu"), ref, **_tol(dtype))


def test_matmul_only_computes_the_gradients_asked_for():
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones((3, 4)))
    F.matmul(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, np.full((2, 3), 4.0))
    assert b.grad is None


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
@pytest.mark.parametrize("x_shape, bias", [((4,), True), ((1, 4), False), ((3, 4), True), ((2, 5, 4), True)])
def test_linear_matches_numpy(x_shape, bias, layout, dtype, device, rng):
    out = 3
    x_np = _array(rng, x_shape, dtype, layout)
    w_np, b_np = _array(rng, (out, 4), dtype, layout), rng.standard_normal(out).astype(dtype)
    x, w = (Tensor(to_device(a, device), requires_grad=True) for a in (x_np, w_np))
    b = Tensor(to_device(b_np, device), requires_grad=True) if bias else None
    y = F.linear(x, w, b)
    x64, w64, b64 = (a.astype(np.float64) for a in (x_np, w_np, b_np))
    expected = x64 @ w64.T + (b64 if bias else 0)
    assert y.dtype == dtype and y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, **_tol(dtype))

    g = rng.standard_normal(expected.shape).astype(dtype)
    y.backward(to_device(g, device))
    g64 = g.astype(np.float64)
    outer = np.einsum("...o,...i->...oi", g64, x64).reshape(-1, out, 4)  # one outer product per row
    refs = [(x, g64 @ w64), (w, outer.sum(axis=0))]
    if bias:
        refs.append((b, g64.reshape(-1, out).sum(axis=0)))
    for t, ref in refs:
        assert t.grad.dtype == dtype
        np.testing.assert_allclose(to_device(t.grad, "cpu"), ref, **_tol(dtype))


CASE_NAMES = [c.name for op in ("matmul", "linear") for c in G.select(op)]


def test_cases_cover_both_ops():
    assert {n.split("/")[0] for n in CASE_NAMES} == {"matmul", "linear"}


@pytest.mark.parametrize("name", CASE_NAMES)
def test_gradcheck(name):
    report = G.run(G.CASES[name])
    assert report.passed, report.summary()


def _zeros(*shape):
    return Tensor(np.zeros(shape, np.float32))


@pytest.mark.parametrize("call, message", [
    (lambda: F.matmul(_zeros(2, 3), _zeros(4, 2)), r"matmul: inner dims differ, shapes \(2, 3\) @ \(4, 2\)"),
    (lambda: F.matmul(_zeros(3), _zeros(4)), "matmul: inner dims differ"),
    (lambda: F.matmul(_zeros(), _zeros(3)), "matmul: operands must have at least 1 dim"),
    (lambda: F.matmul(_zeros(2, 2, 3), _zeros(3, 3, 4)), "matmul: batch dims do not broadcast"),
    (lambda: F.linear(_zeros(2, 3), _zeros(4, 5)), r"linear: input \(2, 3\) does not fit weight \(4, 5\)"),
    (lambda: F.linear(_zeros(2, 3), _zeros(3)), "linear: input"),
    (lambda: F.linear(_zeros(2, 3), _zeros(4, 3), _zeros(3)), r"linear: bias shape \(3,\) should be \(4,\)"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
