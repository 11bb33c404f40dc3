"""The likelihood losses of latent-variable models against independent answers: the analytic KL
against a Monte-Carlo estimate, the Gaussian log densities against scipy, the Bernoulli and Gaussian
decoder NLLs against their formulas on hand values, the IWAE bound against log-mean-exp, and the
reparameterised draws' mean and spread (all in float64)."""
import math

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from minigen.losses import likelihood as lk
from minigen.tensor import Tensor


def _t(a):
    return Tensor(np.asarray(a, np.float64))


def test_analytic_kl_matches_a_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    mu = np.array([[0.0, 0.0, 0.0], [1.5, -0.7, 0.3], [-2.0, 0.5, 1.0]])
    logvar = np.array([[0.0, 0.0, 0.0], [-1.0, 0.8, 0.2], [0.5, -2.0, 1.2]])
    kl = lk.gaussian_kl(_t(mu), _t(logvar)).numpy()
    assert kl.shape == (3,)
    assert kl[0] == 0.0  # q = p exactly: KL is zero (every term 1 + 0 - 0 - 1 cancels)
    n = 200_000
    sd = np.exp(0.5 * logvar)
    for i in range(3):
        z = mu[i] + sd[i] * rng.standard_normal((n, 3))
        # log q(z) - log p(z) from scipy, independent of the code under test
        d = norm.logpdf(z, mu[i], sd[i]).sum(1) - norm.logpdf(z).sum(1)
        est, se = d.mean(), d.std(ddof=1) / math.sqrt(n)
        # 5 standard errors: a seeded draw, and a wrong formula (e.g. a lost factor 1/2, or sigma for
        # sigma^2) is off by far more than 5 SE (SE here is below 0.01 nats, the KLs are 1 to 4 nats)
        assert abs(kl[i] - est) < 5 * se + 1e-12, (i, kl[i], est, se)
        if i:
            assert se < 0.02 and kl[i] > 0.5  # the check has teeth: the KL is large against the SE


def test_log_densities_match_scipy():
    rng = np.random.default_rng(1)
    z, mu, logvar = rng.standard_normal((4, 5)), rng.standard_normal((4, 5)), rng.uniform(-2, 2, (4, 5))
    want = norm.logpdf(z, mu, np.exp(0.5 * logvar)).sum(1)
    np.testing.assert_allclose(lk.log_normal(_t(z), _t(mu), _t(logvar)).numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lk.log_standard_normal(_t(z)).numpy(), norm.logpdf(z).sum(1), rtol=1e-12, atol=1e-12)
    # per row over every trailing axis: (N, 2, 3) sums 6 values per row
    z3 = rng.standard_normal((2, 2, 3))
    np.testing.assert_allclose(lk.log_standard_normal(_t(z3)).numpy(), norm.logpdf(z3).sum((1, 2)), rtol=1e-12)


def test_bernoulli_nll_on_hand_values():
    logits = np.array([[[0.0, 2.0], [-3.0, 40.0]], [[-40.0, 1.0], [0.5, -0.5]]])  # (2, 2, 2), with saturated ends
    x = np.array([[[1.0, 0.0], [0.3, 1.0]], [[0.0, 1.0], [0.5, 0.25]]])

    def softplus(v):
        return np.logaddexp(0, v)
    want = (softplus(logits) - x * logits).reshape(2, -1).sum(1)
    got = lk.bernoulli_nll(_t(logits), _t(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # one pixel by hand: l = 0, x = 1 costs log 2; l = 40, x = 1 costs softplus(40) - 40 = log(1 + e^-40)
    one = lk.bernoulli_nll(_t([[0.0]]), _t([[1.0]])).numpy()
    assert one[0] == pytest.approx(math.log(2), rel=1e-14)
    sat = lk.bernoulli_nll(_t([[40.0, -40.0]]), _t([[1.0, 0.0]])).numpy()
    assert 0 <= sat[0] < 1e-16  # confident and right: no catastrophic log(1 - sigmoid) cancellation


def test_gaussian_nll_is_half_the_squared_error_without_the_constant():
    rng = np.random.default_rng(2)
    m, x = rng.standard_normal((3, 1, 4, 4)), rng.random((3, 1, 4, 4))
    want = 0.5 * ((x - m) ** 2).reshape(3, -1).sum(1)
    np.testing.assert_allclose(lk.gaussian_nll(_t(m), _t(x)).numpy(), want, rtol=1e-12)
    # the true -log N(x; m, I) is the same plus D/2 log 2pi (D = 16 pixels)
    full = -norm.logpdf(x, m).reshape(3, -1).sum(1)
    np.testing.assert_allclose(lk.gaussian_nll(_t(m), _t(x)).numpy() + 8 * math.log(2 * math.pi), full, rtol=1e-12)


def test_iwae_bound_is_the_log_mean_of_the_weights():
    rng = np.random.default_rng(3)
    one = rng.standard_normal((1, 5)) * 10
    np.testing.assert_array_equal(lk.iwae_bound(_t(one)).numpy(), one[0])  # k = 1: the single log weight
    logw = rng.standard_normal((7, 5)) * 30 - 500  # large spread, far from 0: needs the max shift
    want = logsumexp(logw, axis=0) - math.log(7)
    np.testing.assert_allclose(lk.iwae_bound(_t(logw)).numpy(), want, rtol=1e-12)
    # equal weights give that weight back; the bound lies between the mean and the max of the log weights
    np.testing.assert_allclose(lk.iwae_bound(_t(np.full((4, 2), -3.0))).numpy(), [-3.0, -3.0], rtol=1e-14)
    b = lk.iwae_bound(_t(logw)).numpy()
    assert np.all(b >= logw.mean(0)) and np.all(b <= logw.max(0))


def test_reparameterize_has_the_asked_mean_and_spread():
    rng = np.random.default_rng(4)
    mu, logvar = np.array([1.0, -2.0, 0.0]), np.array([0.0, 1.0, -3.0])
    n = 100_000
    eps = rng.standard_normal((n, 3))
    z = lk.reparameterize(_t(np.tile(mu, (n, 1))), _t(np.tile(logvar, (n, 1))), _t(eps)).numpy()
    sd = np.exp(0.5 * logvar)
    np.testing.assert_allclose(z, mu + sd * eps, rtol=1e-14, atol=1e-14)  # the formula, draw by draw
    # the sample mean is within 5 standard errors (sd / sqrt n) of mu; the sample sd within 5 of its SE,
    # about sd / sqrt(2n) for a Gaussian
    assert np.all(np.abs(z.mean(0) - mu) < 5 * sd / math.sqrt(n))
    assert np.all(np.abs(z.std(0) - sd) < 5 * sd / math.sqrt(2 * n))
    # gradients flow to mu and logvar: dz/dmu = 1, dz/dlogvar = eps sd / 2
    m, lv = Tensor(mu[None], requires_grad=True), Tensor(logvar[None], requires_grad=True)
    lk.reparameterize(m, lv, _t(eps[:1])).sum().backward()
    np.testing.assert_allclose(m.grad, np.ones((1, 3)))
    np.testing.assert_allclose(lv.grad, 0.5 * sd[None] * eps[:1], rtol=1e-12)
