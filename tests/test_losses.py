"""Losses against plain NumPy formulas and the loop references; gradient checks; bad arguments."""
import numpy as np
import pytest

from minigen import backend
from minigen import gradcases as G
from minigen import losses as L
from minigen.reference import losses as R
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


# ---- Gram matrices ------------------------------------------------------------------------

# Central differences of the float64 references carry rounding error ~1e-16 |L| / h ~ 1e-9 here.
FD_TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-6, atol=1e-7)}


def _numeric_grad(f, x, r, h=1e-6):
    """d/dx sum(f(x) * r) by central differences (float64, loop reference code)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        keep = x[i]
        x[i] = keep + h
        up = (f(x) * r).sum()
        x[i] = keep - h
        down = (f(x) * r).sum()
        x[i] = keep
        g[i] = (up - down) / (2 * h)
    return g


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalize", ["johnson", "gatys", None])
@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (2, 4, 3, 1), (3, 1, 2, 2)])
def test_gram_matrix_matches_reference(shape, normalize, dtype, device):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    r = rng.standard_normal((shape[0], shape[1], shape[1]))
    xt = _t(x, dtype, device)
    g = L.gram_matrix(xt, normalize)
    (g * Tensor(backend.to_device(r.astype(dtype), device))).sum().backward()
    assert g.dtype == dtype and g.shape == (shape[0], shape[1], shape[1])
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(g.numpy(), R.gram_matrix(x, normalize), **tol)
    np.testing.assert_allclose(_grad(xt), _numeric_grad(lambda a: R.gram_matrix(a, normalize), x.copy(), r),
                               **FD_TOL[dtype])


def test_gram_matrix_of_a_strided_view():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((2, 6, 5, 8))
    x = base[:, ::2, :, 1::2]  # non-contiguous along C and W
    np.testing.assert_allclose(L.gram_matrix(Tensor(x)).numpy(), R.gram_matrix(x), rtol=1e-10)


def test_gatys_normalisation_gives_the_paper_layer_loss():
    """mse_loss(sum) of 'gatys' Grams == E_l = 1/(4 N^2 M^2) sum (G - A)^2 on raw Grams (Gatys 2015, eq. 4)."""
    rng = np.random.default_rng(8)
    x, a = rng.standard_normal((1, 5, 4, 6)), rng.standard_normal((1, 5, 4, 6))
    n_l, m_l = 5, 24
    raw_g, raw_a = R.gram_matrix(x, None), R.gram_matrix(a, None)
    paper = ((raw_g - raw_a) ** 2).sum() / (4 * n_l ** 2 * m_l ** 2)
    ours = L.mse_loss(L.gram_matrix(Tensor(x), "gatys"), L.gram_matrix(Tensor(a), "gatys"), "sum")
    np.testing.assert_allclose(ours.item(), paper, rtol=1e-12)
    johnson = L.gram_matrix(Tensor(x), "johnson").numpy()
    np.testing.assert_allclose(johnson, raw_g / (n_l * m_l), rtol=1e-12)


# ---- total variation ------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [1, 2])
@pytest.mark.parametrize("shape", [(1, 1, 3, 4), (2, 3, 5, 2), (2, 2, 1, 3), (1, 2, 4, 1)])
def test_total_variation_matches_reference(shape, beta, dtype, device):
    rng = np.random.default_rng(9)
    x = rng.standard_normal(shape)
    r = rng.standard_normal(shape[0])
    xt = _t(x, dtype, device)
    tv = L.total_variation(xt, beta, reduction="none")
    (tv * Tensor(backend.to_device(r.astype(dtype), device))).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(tv.numpy(), R.total_variation(x, beta), **tol)
    np.testing.assert_allclose(_grad(xt), _numeric_grad(lambda a: R.total_variation(a, beta), x.copy(), r),
                               **FD_TOL[dtype])


def test_total_variation_reductions_and_formula():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((3, 2, 4, 5))
    per_image = (np.diff(x, axis=2) ** 2).sum((1, 2, 3)) + (np.diff(x, axis=3) ** 2).sum((1, 2, 3))
    np.testing.assert_allclose(L.total_variation(Tensor(x)).item(), per_image.sum(), rtol=1e-12)
    np.testing.assert_allclose(L.total_variation(Tensor(x), reduction="mean").item(), per_image.mean(), rtol=1e-12)
    tv1 = np.abs(np.diff(x, axis=2)).sum() + np.abs(np.diff(x, axis=3)).sum()
    np.testing.assert_allclose(L.total_variation(Tensor(x), beta=1).item(), tv1, rtol=1e-12)
    assert L.total_variation(Tensor(x.astype(np.float32))).dtype == np.float32


# ---- perceptual losses ------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_content_and_feature_loss(dtype, device):
    rng = np.random.default_rng(11)
    f, p = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 4, 5))
    out, (gf, gp) = _run(L.content_loss, _t(f, dtype, device), _t(p, dtype, device))
    np.testing.assert_allclose(out, 0.5 * ((f - p) ** 2).sum(), **TOL[dtype])  # Gatys 2016 eq. 1
    np.testing.assert_allclose(gf, f - p, **TOL[dtype])
    np.testing.assert_allclose(gp, p - f, **TOL[dtype])
    out, (gf, _) = _run(L.feature_loss, _t(f, dtype, device), _t(p, dtype, device))
    per_image = ((f - p) ** 2).sum(axis=(1, 2, 3)) / (3 * 4 * 5)  # Johnson 2016: 1/(CHW) ||.||^2
    np.testing.assert_allclose(out, per_image.mean(), **TOL[dtype])
    np.testing.assert_allclose(gf, 2 * (f - p) / f.size, **TOL[dtype])


def _gatys_e(f, a):
    """E_l = 1/(4 N^2 M^2) sum (G - A)^2 with raw Grams, by loops over the filter pairs."""
    n, m = f.shape[0], f.shape[1] * f.shape[2]
    ff, aa = f.reshape(n, m), a.reshape(n, m)
    total = 0.0
    for i in range(n):
        for j in range(n):
            total += ((ff[i] * ff[j]).sum() - (aa[i] * aa[j]).sum()) ** 2
    return total / (4 * n * n * m * m)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_style_loss_is_the_weighted_sum_of_gatys_layer_losses(dtype, device):
    rng = np.random.default_rng(12)
    shapes = {"relu1_1": (1, 3, 5, 4), "relu2_1": (1, 6, 3, 2)}
    f = {k: rng.standard_normal(s) for k, s in shapes.items()}
    a = {k: rng.standard_normal(s) for k, s in shapes.items()}
    targets = {k: L.gram_matrix(_t(v, dtype, device, grad=False), "gatys") for k, v in a.items()}
    w = {"relu1_1": 0.25, "relu2_1": 3.0}
    ft = {k: _t(v, dtype, device) for k, v in f.items()}
    out = L.style_loss(ft, targets, w)
    out.backward()
    want = sum(w[k] * _gatys_e(f[k][0], a[k][0]) for k in shapes)
    np.testing.assert_allclose(out.numpy(), want, **TOL[dtype])
    # dE/dF = 1/(N^2 M^2) (G - A) F  (Gatys 2015, eq. 5, where F > 0)
    for k in shapes:
        n, m = shapes[k][1], shapes[k][2] * shapes[k][3]
        ff, aa = f[k][0].reshape(n, m), a[k][0].reshape(n, m)
        grad = w[k] * (ff @ ff.T - aa @ aa.T) @ ff / (n * n * m * m)
        np.testing.assert_allclose(_grad(ft[k]).reshape(n, m), grad, **TOL[dtype])
    # equal weights 1/L by default; a list works like a dict; raw array targets
    same = L.style_loss([_t(f[k], dtype, device) for k in shapes], [targets[k].numpy() for k in shapes])
    np.testing.assert_allclose(same.numpy(), sum(_gatys_e(f[k][0], a[k][0]) for k in shapes) / 2, **TOL[dtype])


def test_style_loss_batch_averages_and_broadcasts_one_target():
    rng = np.random.default_rng(13)
    f, a = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((1, 2, 3, 3))
    target = L.gram_matrix(Tensor(a), "gatys")
    out = L.style_loss([Tensor(f)], [target], [1.0])
    np.testing.assert_allclose(out.item(), np.mean([_gatys_e(x, a[0]) for x in f]), rtol=1e-12)
    with pytest.raises(ValueError, match="target Gram of layer 0 has shape"):
        L.style_loss([Tensor(f)], [np.zeros((1, 3, 3))])
    with pytest.raises(ValueError, match="2 feature layers but 1 targets"):
        L.style_loss([Tensor(f), Tensor(f)], [target])
    with pytest.raises(ValueError, match="1 feature layers but 2 weights"):
        L.style_loss([Tensor(f)], [target], [1.0, 2.0])
    with pytest.raises(ValueError, match="content_loss: features must be"):
        L.content_loss(Tensor(np.zeros((2, 3))), np.zeros((2, 3)))


def test_moment_loss_matches_numpy():
    rng = np.random.default_rng(5)
    f, s = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 2))

    def moments(x):
        return x.mean(axis=(2, 3)), np.sqrt(x.var(axis=(2, 3)) + 1e-5)
    (mf, sf), (ms, ss) = moments(f), moments(s)
    want = np.mean((mf - ms) ** 2) + np.mean((sf - ss) ** 2)
    got = L.moment_loss({"a": Tensor(f)}, {"a": Tensor(s)}).item()
    assert got == pytest.approx(want, rel=1e-12)


# ---- gradient checks and errors -------------------------------------------------------------

LOSS_CASES = [c for name in ("mse_loss", "l1_loss", "bce_loss", "bce_with_logits", "cross_entropy",
                             "gram_matrix", "total_variation", "content_loss", "feature_loss", "style_loss",
                             "moment_loss")
              for c in G.select(name)]


def test_every_loss_has_gradcases():
    names = {c.name.split("/")[0] for c in LOSS_CASES}
    assert names == set(L.__all__)


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.name)
def test_gradcheck(case):
    report = G.run(case)
    assert report.passed, report.summary()


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
    with pytest.raises(ValueError, match=r"gram_matrix: features must be a Tensor \(N, C, H, W\)"):
        L.gram_matrix(x)
    with pytest.raises(ValueError, match="normalize"):
        L.gram_matrix(Tensor(np.zeros((1, 2, 3, 3))), "frobenius")
    with pytest.raises(ValueError, match="beta must be 1 or 2"):
        L.total_variation(Tensor(np.zeros((1, 2, 3, 3))), beta=3)
    with pytest.raises(ValueError, match="total_variation: x must be"):
        L.total_variation(x)
