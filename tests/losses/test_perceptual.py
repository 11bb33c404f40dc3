"""Gram matrices, total variation and the perceptual losses against the loop references and
the papers' formulas; bad arguments."""
import numpy as np
import pytest

from minigen import backend
from minigen import losses as L
from minigen.reference import losses as R
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}
# Central differences of the float64 references carry rounding error ~1e-16 |L| / h ~ 1e-9 here.
FD_TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-6, atol=1e-7)}


def _t(a, dtype, device, grad=True):
    return Tensor(backend.to_device(np.asarray(a, dtype), device), requires_grad=grad)


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


def _check_against_reference(fn, ref, x, r, dtype, device):
    """fn(x) against the loop reference ref(x), and the gradient of sum(fn(x) * r) against
    central differences of the reference; returns fn(x)."""
    xt = _t(x, dtype, device)
    out = fn(xt)
    (out * Tensor(backend.to_device(r.astype(dtype), device))).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out.numpy(), ref(x), **tol)
    np.testing.assert_allclose(backend.to_host(xt.grad), _numeric_grad(ref, x.copy(), r), **FD_TOL[dtype])
    return out


# ---- Gram matrices ------------------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("normalize", ["johnson", "gatys", None])
@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (2, 4, 3, 1), (3, 1, 2, 2)])
def test_gram_matrix_matches_reference(shape, normalize, dtype, device):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    r = rng.standard_normal((shape[0], shape[1], shape[1]))
    g = _check_against_reference(lambda t: L.gram_matrix(t, normalize), lambda a: R.gram_matrix(a, normalize),
                                 x, r, dtype, device)
    assert g.dtype == dtype and g.shape == (shape[0], shape[1], shape[1])


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
    _check_against_reference(lambda t: L.total_variation(t, beta, reduction="none"),
                             lambda a: R.total_variation(a, beta), x, r, dtype, device)


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

    def run(loss):
        x, y = _t(f, dtype, device), _t(p, dtype, device)
        out = loss(x, y)
        out.backward()
        return out.numpy(), backend.to_host(x.grad), backend.to_host(y.grad)

    out, gf, gp = run(L.content_loss)
    np.testing.assert_allclose(out, 0.5 * ((f - p) ** 2).sum(), **TOL[dtype])  # Gatys 2016 eq. 1
    np.testing.assert_allclose(gf, f - p, **TOL[dtype])
    np.testing.assert_allclose(gp, p - f, **TOL[dtype])
    out, gf, _ = run(L.feature_loss)
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
        np.testing.assert_allclose(backend.to_host(ft[k].grad).reshape(n, m), grad, **TOL[dtype])
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


def test_style_loss_takes_one_weight_per_image():
    """A batch whose images have their own targets, each term weighted by its own w_n (the feed-forward
    trainer's normalisation): (1/N) sum_n w_n E_l(n); its gradient checked against finite differences."""
    from minigen.gradcheck import gradcheck
    rng = np.random.default_rng(14)
    f, a = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((3, 2, 3, 3))
    target, w = L.gram_matrix(Tensor(a), "gatys").data, np.array([0.5, 2.0, 7.0])
    out = L.style_loss([Tensor(f)], [target], [w])
    want = np.mean([wn * _gatys_e(x, t) for wn, x, t in zip(w, f, a)])
    np.testing.assert_allclose(out.item(), want, rtol=1e-12)
    assert gradcheck(lambda x: L.style_loss([x], [target], [w]), [Tensor(f, requires_grad=True)])
    with pytest.raises(ValueError, match="has 2 image weights for a batch of 3"):
        L.style_loss([Tensor(f)], [target], [w[:2]])


def test_moment_loss_matches_numpy():
    rng = np.random.default_rng(5)
    f, s = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 2))

    def moments(x):
        return x.mean(axis=(2, 3)), np.sqrt(x.var(axis=(2, 3)) + 1e-5)
    (mf, sf), (ms, ss) = moments(f), moments(s)
    want = np.mean((mf - ms) ** 2) + np.mean((sf - ss) ** 2)
    got = L.moment_loss({"a": Tensor(f)}, {"a": Tensor(s)}).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_bad_arguments():
    x = Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"gram_matrix: features must be a Tensor \(N, C, H, W\)"):
        L.gram_matrix(x)
    with pytest.raises(ValueError, match="normalize"):
        L.gram_matrix(Tensor(np.zeros((1, 2, 3, 3))), "frobenius")
    with pytest.raises(ValueError, match="beta must be 1 or 2"):
        L.total_variation(Tensor(np.zeros((1, 2, 3, 3))), beta=3)
    with pytest.raises(ValueError, match="total_variation: x must be"):
        L.total_variation(x)
