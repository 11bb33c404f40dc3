"""Pixel and classification losses against plain NumPy formulas; bad arguments."""
import numpy as np
import pytest

from minigen import backend
from minigen import losses as L
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _t(a, dtype, device, grad=True):
    return Tensor(backend.to_device(np.asarray(a, dtype), device), requires_grad=grad)


def _grad(t):
    return backend.to_device(t.grad, "cpu")


def _run(loss_fn, *tensors):
    """Forward value (host) and the gradients of a scalar loss."""
    out = loss_fn(*tensors)
    out.backward()
    return out.numpy(), [_grad(t) for t in tensors]


# ---- elementwise losses against NumPy ---------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(1, 5), (3, 2, 4, 5)])
def test_mse_and_l1(shape, reduction, dtype, device):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    k = 1 / x.size if reduction == "mean" else 1.0
    for fn, value, dx in ((L.mse_loss, (x - y) ** 2, 2 * (x - y)), (L.l1_loss, np.abs(x - y), np.sign(x - y))):
        xt, yt = _t(x, dtype, device), _t(y, dtype, device)
        out, (gx, gy) = _run(lambda a, b: fn(a, b, reduction), xt, yt)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, k * value.sum(), **TOL[dtype])
        np.testing.assert_allclose(gx, k * dx, **TOL[dtype])
        np.testing.assert_allclose(gy, -k * dx, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_reduction_none_and_raw_target(dtype):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    out = L.mse_loss(_t(x, dtype, "cpu"), y.astype(np.float64), reduction="none")
    assert out.dtype == dtype and out.shape == (3, 4)  # a float64 raw target takes the input's dtype
    np.testing.assert_allclose(out.numpy(), (x - y) ** 2, **TOL[dtype])


def test_non_contiguous_inputs():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((4, 5))
    xt = Tensor(x.T, requires_grad=True)  # a transposed view
    out = L.mse_loss(xt, y[:, ::-1], "sum")
    out.backward()
    np.testing.assert_allclose(out.item(), ((x.T - y[:, ::-1]) ** 2).sum(), rtol=1e-12)
    np.testing.assert_allclose(xt.grad, 2 * (x.T - y[:, ::-1]), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce(reduction, dtype, device):
    rng = np.random.default_rng(3)
    p, y = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    k = 1 / p.size if reduction == "mean" else 1.0
    out, (gp, gy) = _run(lambda a, b: L.bce_loss(a, b, reduction), _t(p, dtype, device), _t(y, dtype, device))
    np.testing.assert_allclose(out, -k * (y * np.log(p) + (1 - y) * np.log(1 - p)).sum(), **TOL[dtype])
    np.testing.assert_allclose(gp, k * (p - y) / (p * (1 - p)), **TOL[dtype])
    np.testing.assert_allclose(gy, -k * (np.log(p) - np.log(1 - p)), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_clipped_at_zero_and_one(dtype):
    p = _t([0.0, 1.0, 0.5], dtype, "cpu")
    out = L.bce_loss(p, np.array([1.0, 0.0, 1.0]), "sum")
    out.backward()
    eps = np.finfo(dtype).eps
    assert np.isfinite(out.item())
    np.testing.assert_allclose(out.item(), -2 * np.log(eps) + np.log(2), rtol=1e-3)
    assert np.all(np.isfinite(p.grad)) and p.grad[0] == 0 and p.grad[1] == 0


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits(dtype, device):
    rng = np.random.default_rng(4)
    z, y = 4 * rng.standard_normal((3, 5)), rng.uniform(0, 1, (3, 5))
    s = 1 / (1 + np.exp(-z))
    out, (gz, gy) = _run(L.bce_with_logits, _t(z, dtype, device), _t(y, dtype, device))
    assert out.dtype == dtype
    np.testing.assert_allclose(out, -(y * np.log(s) + (1 - y) * np.log(1 - s)).mean(), **TOL[dtype])
    np.testing.assert_allclose(gz, (s - y) / z.size, **TOL[dtype])
    np.testing.assert_allclose(gy, -z / z.size, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_extreme_logits_and_agreement_with_bce(dtype):
    z = _t([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype, "cpu")
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    out = L.bce_with_logits(z, y, "none")
    out.sum().backward()
    np.testing.assert_allclose(out.numpy(), [1000.0, np.log1p(np.exp(-30.0)), np.log(2), np.log1p(np.exp(-30.0)),
                                             1000.0], rtol=1e-6)
    np.testing.assert_allclose(z.grad, [-1, np.exp(-30.0) / (1 + np.exp(-30.0)), -0.5, -1 / (1 + np.exp(30.0)), 1],
                               rtol=1e-6, atol=1e-12)
    p = Tensor(1 / (1 + np.exp(-np.array([-2.0, 0.5, 3.0]))), dtype=dtype)
    logits = Tensor(np.array([-2.0, 0.5, 3.0]), dtype=dtype)
    np.testing.assert_allclose(L.bce_loss(p, [0.0, 1.0, 0.3]).item(),
                               L.bce_with_logits(logits, [0.0, 1.0, 0.3]).item(), **TOL[dtype])


def _ce_numpy(z, t):
    """-log softmax(z)[t] with classes on axis 1, and its gradient softmax - onehot."""
    zz = np.moveaxis(z, 1, -1)
    m = zz.max(-1, keepdims=True)
    logp = zz - m - np.log(np.exp(zz - m).sum(-1, keepdims=True))
    onehot = np.eye(z.shape[1])[t]
    return -(logp * onehot).sum(-1), np.moveaxis(np.exp(logp) - onehot, -1, 1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 4), (6, 3), (2, 5, 3, 2)])
def test_cross_entropy(shape, dtype, device):
    rng = np.random.default_rng(5)
    z = 3 * rng.standard_normal(shape)
    t = rng.integers(0, shape[1], shape[:1] + shape[2:])
    value, grad = _ce_numpy(z, t)
    for reduction, k in (("mean", 1 / value.size), ("sum", 1.0)):
        zt = _t(z, dtype, device)
        out, (gz,) = _run(lambda a: L.cross_entropy(a, backend.to_device(t, device), reduction), zt)
        assert out.dtype == dtype
        np.testing.assert_allclose(out, k * value.sum(), **TOL[dtype])
        np.testing.assert_allclose(gz, k * grad, **TOL[dtype])
    none = L.cross_entropy(_t(z, dtype, device), t, "none")
    np.testing.assert_allclose(none.numpy(), value, **TOL[dtype])


def test_cross_entropy_large_logits_are_stable():
    z = Tensor(np.array([[1000.0, 0.0], [0.0, 1000.0]], np.float32), requires_grad=True)
    out = L.cross_entropy(z, np.array([0, 0]))
    out.backward()
    np.testing.assert_allclose(out.item(), 500.0, rtol=1e-6)
    assert np.all(np.isfinite(z.grad))


def test_bad_arguments():
    x = Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="mse_loss: target shape"):
        L.mse_loss(x, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="l1_loss: reduction"):
        L.l1_loss(x, np.zeros((2, 3)), reduction="avg")
    with pytest.raises(TypeError, match="bce_loss: input must be a Tensor"):
        L.bce_loss(np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="integer class indices"):
        L.cross_entropy(x, np.zeros(2))
    with pytest.raises(ValueError, match=r"target shape \(3,\) should be \(2,\)"):
        L.cross_entropy(x, np.zeros(3, int))
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        L.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match="cross_entropy: logits"):
        L.cross_entropy(Tensor(np.zeros(3)), np.zeros(3, int))
