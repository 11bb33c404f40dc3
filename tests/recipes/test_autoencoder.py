"""The autoencoder recipe against answers known in closed form: IWAE with one sample is the ELBO with
a sampled KL; the importance-weighted NLL of a linear-Gaussian VAE (whose log p(x) is exact) falls with
k onto the truth, and equals it for every k with the exact posterior as encoder; a linear autoencoder
trained with the MSE spans the PCA subspace. Then: one batch overfitted, a resumed run ending
bit-for-bit where an uninterrupted one does, codes and reconstructions, interpolation and the
manifold's quantile grid."""
import math

import numpy as np
import pytest
from scipy.linalg import subspace_angles
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm, ortho_group

import minigen
from minigen import backend
from minigen.data.digits import digits
from minigen.io import checkpoint as ckpt_io
from minigen.losses import likelihood as lk
from minigen.models.autoencoder import VAE
from minigen.recipes import autoencoder as ae
from minigen.tensor import no_grad


@pytest.fixture
def float64():
    previous = backend.default_dtype()
    minigen.set_default_dtype(np.float64)
    yield
    minigen.set_default_dtype(previous)


def _settings(**kw):
    s = {"model": "vae", "arch": "mlp", "shape": [1, 14, 14], "hidden": [16], "latent": 3, "activation": "relu",
         "likelihood": "bernoulli", "k": 1, "batch": 8, "lr": 3e-3, "binarize": False, "seed": 0}
    return {**s, **kw}


def _digits(n, seed=0, half=True):
    """(n, 1, 14, 14) float32 procedural digits in [0, 1] (every other pixel: small and fast) and labels."""
    images, labels = digits(n, seed=seed)
    x = images[:, None] / 255.0
    return (x[:, :, ::2, ::2] if half else x).astype(np.float32), labels


# ---- IWAE and the ELBO -----------------------------------------------------------------------------

def test_iwae_with_one_sample_is_the_elbo_with_a_sampled_kl(float64):
    """L_1 = log p(x|z) + log p(z) − log q(z|x) at z = μ + σε: the ELBO's reconstruction term exactly,
    with the KL replaced by its one-sample estimate log q(z|x) − log p(z) = ½ Σ (z² − ε² − log σ²); the
    two agree per image only in expectation over ε, and exactly once the analytic KL is swapped in."""
    backend.manual_seed(0)
    model = ae.build(_settings(model="cvae", classes=10))
    x, y = _digits(6)
    xt = ae._t(x, "cpu")
    eps = np.random.default_rng(1).standard_normal((6, 3))
    with no_grad():
        minus_l1 = -lk.iwae_bound(ae.log_weights(model, xt, y, ae._t(eps[None], "cpu"))).numpy()
        rec, kl = (t.numpy() for t in ae.elbo_terms(model, xt, y, ae._t(eps, "cpu")))
        mu, logvar = (t.numpy() for t in model.encode(xt, y))
    z = mu + np.exp(0.5 * logvar) * eps
    sampled_kl = 0.5 * np.sum(z ** 2 - eps ** 2 - logvar, axis=1)
    # float64 rounding of sums of ~200 terms of size ~1: 1e-10 relative is generous and still catches a
    # wrong term (the smallest, log sigma^2 ~ 0.01 here, is 1e-4 of the total)
    np.testing.assert_allclose(minus_l1, rec + sampled_kl, rtol=1e-10)
    np.testing.assert_allclose(minus_l1 - sampled_kl + kl, rec + kl, rtol=1e-10)
    # the one-sample KL is not the analytic one draw by draw, but is over many draws: over 4000 draws the
    # mean of −L_1 − (rec + KL) is within 5 standard errors of 0 for every image
    draws = np.random.default_rng(2).standard_normal((4000, 6, 3))
    with no_grad():
        minus_l1 = -ae.log_weights(model, xt, y, ae._t(draws, "cpu")).numpy()  # (4000, 6): k = 1 each
        x_rep, y_rep = np.repeat(x[None], 4000, 0).reshape(-1, *x.shape[1:]), np.tile(y, 4000)
        rec, kl = (t.numpy().reshape(4000, 6)
                   for t in ae.elbo_terms(model, ae._t(x_rep, "cpu"), y_rep, ae._t(draws.reshape(-1, 3), "cpu")))
    gap = minus_l1 - (rec + kl)
    assert np.all(gap.std(0) > 1e-3)  # they differ draw by draw ...
    assert np.all(np.abs(gap.mean(0)) < 5 * gap.std(0) / math.sqrt(4000))  # ... but not on average


def test_the_iwae_objective_is_the_log_mean_weight_of_its_draws(float64):
    """The step's two objectives draw the same ε for k = 1 (shapes (1, N, d) and (N, d)), so their losses
    differ only by the sampled against the analytic KL; with k = 3, −log-mean-exp of three log weights."""
    backend.manual_seed(0)
    model = ae.build(_settings())
    xt = ae._t(_digits(5)[0], "cpu")
    with no_grad():
        iwae, _ = ae.objective(model, _settings(model="iwae"), xt, None, np.random.default_rng(3), "cpu")
        vae, shown = ae.objective(model, _settings(), xt, None, np.random.default_rng(3), "cpu")
        eps = np.random.default_rng(3).standard_normal((5, 3))
        mu, logvar = (t.numpy() for t in model.encode(xt))
    z = mu + np.exp(0.5 * logvar) * eps
    sampled_kl = 0.5 * np.sum(z ** 2 - eps ** 2 - logvar, axis=1).mean()
    assert iwae.item() == pytest.approx(shown["rec"].item() + sampled_kl, rel=1e-10)
    assert vae.item() == pytest.approx(shown["rec"].item() + shown["kl"].item(), rel=1e-12)
    # with k = 3 the loss is −mean(log (1/3) Σ w_i) over the same three draws per image
    with no_grad():
        iwae3, _ = ae.objective(model, _settings(model="iwae", k=3), xt, None, np.random.default_rng(4), "cpu")
        eps = ae._t(np.random.default_rng(4).standard_normal((3, 5, 3)), "cpu")
        lw = ae.log_weights(model, xt, None, eps).numpy()
    assert iwae3.item() == pytest.approx(-np.mean(logsumexp(lw, axis=0) - math.log(3)), rel=1e-12)


# ---- a linear-Gaussian VAE: log p(x) in closed form -----------------------------------------------

D, d = 4, 2


def _linear_gaussian(n):
    """The model z ~ N(0, I_2), x = W z + b + N(0, I_4) as a VAE with no hidden layer, W with orthogonal
    columns (so the exact posterior is diagonal), its data and its exact log p(x) = log N(x; b, WWᵀ + I)."""
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((D, d)))
    s = np.array([2.0, 1.0])
    w, b = q * s, np.array([0.3, -0.2, 0.5, 0.1])  # WᵀW = diag(s²)
    backend.manual_seed(0)
    vae = VAE("mlp", (1, 1, D), (), d, None, "gaussian")
    x = rng.standard_normal((n, d)) @ w.T + b + rng.standard_normal((n, D))
    log_px = multivariate_normal(b, w @ w.T + np.eye(D)).logpdf(x)
    post_var = 1 / (1 + s ** 2)  # the posterior: cov (I + WᵀW)⁻¹, mean (I + WᵀW)⁻¹ Wᵀ (x − b)
    a = post_var[:, None] * w.T
    return vae, w, b, x.reshape(n, 1, 1, D), log_px, a, -a @ b, post_var


def _set(vae, w, b, a, c, logvar):
    """Decoder W, b; encoder μ = A x + c and log σ² = ``logvar`` whatever x (zero weights on that half)."""
    vae.load_state_dict({"encoder.0.weight": np.concatenate([a, np.zeros((d, D))]),
                         "encoder.0.bias": np.concatenate([c, logvar]), "decoder.0.weight": w, "decoder.0.bias": b})


# gaussian_nll drops ½ D log 2π, so iw_nll estimates −log p(x) − ½ D log 2π
CONST = 0.5 * D * math.log(2 * math.pi)


def test_iw_nll_is_exact_for_every_k_with_the_exact_posterior(float64):
    vae, w, b, x, log_px, a, c, post_var = _linear_gaussian(50)
    _set(vae, w, b, a, c, np.log(post_var))
    truth = -log_px.mean() - CONST
    for k in (1, 10, 1000):
        # every weight p(x, z)/q(z|x) is p(x) exactly: only float64 rounding of ~10 terms of size ~10
        assert ae.iw_nll(vae, x, k=k, seed=k, chunk=300) == pytest.approx(truth, rel=1e-12, abs=1e-12)
    # one per image too, through the raw log weights
    with no_grad():
        lw = ae.log_weights(vae, ae._t(x, "cpu"), None, ae._t(np.random.default_rng(0).standard_normal((7, 50, d)),
                                                                "cpu")).numpy()
    np.testing.assert_allclose(lw, np.broadcast_to(log_px + CONST, (7, 50)), rtol=1e-12)


def _chi2(m, s2, mu, sig2):
    """E_q[(p/q)²] of diagonal Gaussians p = N(m, s2), q = N(mu, sig2), per row (needs 2 sig2 > s2)."""
    return np.prod(sig2 / np.sqrt(s2 * (2 * sig2 - s2)) * np.exp((m - mu) ** 2 / (2 * sig2 - s2)), axis=-1)


def _kl(mu, sig2, m, s2):
    """KL(N(mu, sig2) ‖ N(m, s2)) of diagonal Gaussians, per row."""
    return 0.5 * np.sum(np.log(s2 / sig2) + (sig2 + (mu - m) ** 2) / s2 - 1, axis=-1)


def test_iw_nll_falls_with_k_onto_the_truth(float64):
    n = 1000
    vae, w, b, x, log_px, a, c, post_var = _linear_gaussian(n)
    # an imperfect encoder: means shrunk and shifted, variances 2.2 times the posterior's (wider than the
    # posterior in every direction, so the weights p(x, z)/q(z|x) are bounded and their variance finite)
    qa, qc, q_logvar = 0.6 * a, c + 0.3, np.log(post_var) + 0.8
    _set(vae, w, b, qa, qc, q_logvar)
    xs = x.reshape(n, D)
    truth = np.mean(-log_px - CONST)
    est = {k: ae.iw_nll(vae, x, k=k, seed=1) for k in (1, 10, 1000)}
    # closed forms of the two sides of the estimate: with q = N(mu_q, sig2_q) and the posterior
    # N(m, post_var), E[−L_1] = −log p(x) + KL(q ‖ posterior), and the normalised weights w/p(x) have
    # relative variance chi2 − 1 (a delta-method bias of about (chi2 − 1)/(2k) for −L_k)
    mu_q, sig2_q = xs @ qa.T + qc, np.exp(q_logvar)
    m = (xs - b) @ a.T
    kl = _kl(mu_q, sig2_q, m, post_var)
    relvar = _chi2(m, post_var, mu_q, sig2_q) - 1
    # k = 1 is one draw per image, −log w = −log p(x) + log q(z|x) − log p(z|x) with z = mu_q + sig_q ε:
    # per dimension that is const + ε² (sig2_q/post_var − 1)/2 + ε sig_q (mu_q − m)/post_var, of variance
    # 2 ((sig2_q/post_var − 1)/2)² + (sig_q (mu_q − m)/post_var)² (Var ε² = 2, Cov(ε², ε) = 0); the mean over
    # the n images is within 5 of its standard errors of truth + mean KL
    var = np.sum(2 * (0.5 - sig2_q / (2 * post_var)) ** 2 + sig2_q * ((mu_q - m) / post_var) ** 2, axis=1)
    se1 = math.sqrt(var.sum()) / n
    assert abs(est[1] - (truth + kl.mean())) < 5 * se1, (est[1], truth + kl.mean(), se1)
    assert kl.mean() > 10 * se1  # the encoder is far enough off that the k = 1 gap is plain
    # monotone in k: the k = 10 gap (~relvar/20 ≈ 0.07 nats) is 5 SE (sqrt(relvar / (10 n)) ≈ 0.012)
    # above the k = 1000 one
    assert est[1] > est[10] > est[1000]
    bias, se = relvar.mean() / (2 * 1000), math.sqrt(relvar.mean() / (1000 * n))
    tol = bias + 4 * se  # the delta-method bias plus 4 standard errors of the mean over n images
    assert tol < 0.01  # the check is tight: a hundredth of a nat, against a k = 1 gap of ~1 nat
    assert truth - 4 * se <= est[1000] <= truth + tol, (est[1000], truth, tol)


# ---- a linear autoencoder is PCA ------------------------------------------------------------------

def test_a_linear_autoencoder_spans_the_principal_subspace():
    """Baldi & Hornik (1989): the MSE minimisers of a linear AE with k units decode from the span of the top
    k principal directions of the centred data (the biases do the centring)."""
    n, dim = 500, 8
    rng = np.random.default_rng(0)
    stds = np.array([5, 3, 1, 0.5, 0.4, 0.3, 0.2, 0.1])  # clear gaps after the first two
    x = (rng.standard_normal((n, dim)) * stds) @ ortho_group.rvs(dim, random_state=1).T + 2.0
    centred = x - x.mean(0)
    _, sv, vt = np.linalg.svd(centred, full_matrices=False)
    top = vt[:2].T
    settings = _settings(model="ae", shape=[1, 1, dim], hidden=[], latent=2, activation=None,
                         likelihood="gaussian", batch=n, lr=0.05)  # full batch: no minibatch noise at the end
    data = {"x": x.reshape(n, 1, 1, dim).astype(np.float32), "y": None}
    backend.manual_seed(settings["seed"])
    start = np.degrees(subspace_angles(ae.build(settings).state_dict()["decoder.0.weight"].astype(float), top))
    model, history = ae.train(settings, data, 500, log_every=10 ** 6)
    angles = np.degrees(subspace_angles(model.state_dict()["decoder.0.weight"].astype(float), top))
    # 500 full-batch Adam steps reach 0.03 degrees (the third variance is 1/9 of the second, so the
    # subspace settles fast); 1 degree leaves a factor 30 and still fails a decoder that is off the plane,
    # as the random initial one is (tens of degrees)
    assert angles.max() < 1.0 and start.max() > 20, (angles, start)
    # and the loss is the PCA residual ½ Σ_{i>2} λ_i (per point) to 0.1% (float32 training)
    residual = 0.5 * np.sum(sv[2:] ** 2) / n
    assert residual * (1 - 1e-4) <= history["loss"][-1] < residual * 1.001


# ---- training runs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model, ratio", [("ae", 0.01), ("vae", 0.2)])
def test_one_batch_is_overfitted(model, ratio):
    """16 binary 14x14 digits, each step the same batch: the loss falls from ~135 nats to 0.04 (AE, ratio
    1/3800, asserted 1/100) and to 12 (VAE, 1/11, asserted 1/5; its KL keeps the codes apart and cannot go
    to zero)."""
    x, labels = _digits(16)
    x = (x > 0.5).astype(np.float32)
    settings = _settings(model=model, hidden=[64], latent=4, batch=16)
    _, history = ae.train(settings, {"x": x, "y": labels}, 300, log_every=10 ** 6)
    first, last = np.mean(history["loss"][:3]), np.mean(history["loss"][-10:])
    assert first > 100 and last < ratio * first, (first, last)
    if model == "vae":
        assert np.mean(history["rec"][-10:]) < 0.1 * np.mean(history["rec"][:3])


@pytest.mark.parametrize("kw", [dict(model="cvae", classes=10, binarize=True, arch="conv", hidden=[2, 3],
                                     shape=[1, 12, 12]),
                                dict(model="iwae", k=3, binarize=True),
                                dict(model="paired", likelihood="gaussian", activation="tanh", distort="morph")],
                         ids=["cvae-conv-binarized", "iwae", "paired"])
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, kw):
    settings = _settings(**kw)
    x, labels = _digits(40)
    if settings["arch"] == "conv":
        x = x[:, :, 1:13, 1:13]
    data = {"x": x, "y": labels, "x_b": 1 - x[::-1]} if settings["model"] == "paired" else {"x": x, "y": labels}
    straight, _ = ae.train(settings, data, 12, log_every=100)
    path = str(tmp_path / "run.npz")
    ae.train(settings, data, 12, out=path, log_every=100, time_limit=0)  # stops after its first step
    assert ckpt_io.load(path).step < 12
    resumed, _ = ae.train(settings, data, 12, out=path, resume=True, log_every=100)
    assert ckpt_io.load(path).step == 12
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(p, q, err_msg=name)
    # and the run moved: the weights are not the initial ones
    backend.manual_seed(settings["seed"])
    init = ae.build(settings)
    assert not all(np.array_equal(p, q) for p, q in zip(init.state_dict().values(), straight.state_dict().values()))


def test_distort_morph_erodes_keeps_or_dilates_each_image_and_shear_slants_it():
    from scipy.ndimage import grey_dilation, grey_erosion
    from minigen.data.digits import slant_of
    x, _ = _digits(60)
    out = ae.distort(x, np.random.default_rng(3), "morph")
    assert out.shape == x.shape and out.dtype == x.dtype
    choices = [grey_erosion(x, size=(1, 1, 2, 2)), x, grey_dilation(x, size=(1, 1, 2, 2))]
    picked = [[np.array_equal(o, c[i]) for c in choices].index(True) for i, o in enumerate(out)]
    assert sorted(set(picked)) == [0, 1, 2]  # each image is one of the three, and all three occur
    np.testing.assert_array_equal(out, ae.distort(x, np.random.default_rng(3), "morph"))  # seeded
    # a shear from U(-0.5, 0.5) moves each digit's slant (cov(x, y) / var(y)) by that shear, give or take
    # the bilinear resampling and the clipping at the border
    sheared = ae.distort(x, np.random.default_rng(4), "shear")
    shears = np.random.default_rng(4).uniform(-0.5, 0.5, len(x))
    moved = slant_of(sheared[:, 0]) - slant_of(x[:, 0])
    assert np.corrcoef(moved, shears)[0, 1] > 0.95


# ---- using a model ---------------------------------------------------------------------------------

def test_codes_reconstructions_and_test_loss():
    x, labels = _digits(10)
    backend.manual_seed(0)
    vae = ae.build(_settings(model="cvae", classes=10)).eval()
    with no_grad():
        mu = vae.encode(ae._t(x, "cpu"), labels)[0].numpy()
        out = vae.to_image(vae(ae._t(x, "cpu"), labels)).numpy()
    np.testing.assert_array_equal(ae.codes(vae, x, labels), mu)  # a VAE's code is μ
    recon = ae.reconstruct(vae, x, labels)
    np.testing.assert_array_equal(recon, out)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    backend.manual_seed(0)
    auto = ae.build(_settings(model="ae")).eval()
    with no_grad():
        per_image = ae.nll(auto, auto(ae._t(x, "cpu")), ae._t(x, "cpu")).numpy()
    # the AE's test loss is its mean reconstruction NLL, whatever the batching (float32 sums: 1e-6)
    assert ae.test_loss(auto, _settings(model="ae"), x, batch=3) == pytest.approx(per_image.mean(), rel=1e-6)
    paired = ae.build(_settings(model="paired"))
    a, b = ae.reconstruct(paired, x, domain="a"), ae.reconstruct(paired, x, domain="b")
    assert a.shape == b.shape == x.shape and not np.allclose(a, b)


def test_interpolation_ends_on_its_endpoints_and_slerp_keeps_the_norm():
    rng = np.random.default_rng(0)
    z0 = rng.standard_normal(6)
    z1 = rng.standard_normal(6)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)  # equal norms
    line = ae.interpolate(z0, z1, 7)
    assert line.shape == (7, 6)
    np.testing.assert_array_equal(line[0], z0)
    np.testing.assert_array_equal(line[-1], z1)
    np.testing.assert_allclose(np.diff(line, axis=0), np.broadcast_to((z1 - z0) / 6, (6, 6)), atol=1e-14)
    arc = ae.interpolate(z0, z1, 7, spherical=True)
    # the ends: sin(ω) z / sin(ω), a rounding or two from exact
    np.testing.assert_allclose(arc[0], z0, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(arc[-1], z1, rtol=1e-14, atol=1e-15)
    norms = np.linalg.norm(arc, axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(z0), rtol=1e-12)  # on the great circle
    assert np.linalg.norm(line[3]) < 0.9 * np.linalg.norm(z0)  # where the straight line cuts inside the sphere
    # equal angles between consecutive codes
    cos = np.sum(arc[1:] * arc[:-1], axis=1) / norms[1:] / norms[:-1]
    np.testing.assert_allclose(cos, cos[0], rtol=1e-12)
    # (nearly) parallel codes fall back to the line instead of dividing by sin(0)
    np.testing.assert_array_equal(ae.interpolate(z0, 2 * z0, 3, spherical=True), ae.interpolate(z0, 2 * z0, 3))


@pytest.mark.parametrize("n", [2, 5, 8])
def test_manifold_codes_are_a_symmetric_quantile_grid(n):
    codes = ae.manifold_codes(n)
    assert codes.shape == (n * n, 2)
    grid = codes.reshape(n, n, 2)  # rows of the picture, from the top
    q = grid[0, :, 0]
    np.testing.assert_allclose(norm.cdf(q), np.linspace(0.05, 0.95, n), rtol=1e-12)  # prior quantiles
    np.testing.assert_allclose(q, -q[::-1], atol=1e-12)  # symmetric about 0
    np.testing.assert_array_equal(grid[..., 0], np.broadcast_to(q, (n, n)))  # z1 along each row
    np.testing.assert_array_equal(grid[..., 1], np.broadcast_to(q[::-1, None], (n, n)))  # z2 from high to low


def test_slerp_between_opposite_codes_falls_back_to_the_line():
    z0 = np.array([1.0, 2.0, -0.5])
    for z1 in (-z0, -z0 * (1 + 1e-9)):
        path = ae.interpolate(z0, z1, 5, spherical=True)
        np.testing.assert_allclose(path, ae.interpolate(z0, z1, 5), atol=1e-12)


def test_manifold_codes_need_two_points_a_side():
    with pytest.raises(ValueError, match="at least 2"):
        ae.manifold_codes(1)
