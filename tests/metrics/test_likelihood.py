"""Likelihood yardsticks: bits per dimension, a stable log-mean-exp, and the importance-weighted
estimate of log p(x) checked on a linear-Gaussian model whose likelihood is known in closed form."""
import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from minigen.metrics.likelihood import (bits_per_dim, importance_weighted_log_likelihood, iwae_log_likelihood,
                                        log_mean_exp)


def log_normal(x, mean, var):
    """log N(x; mean, var I) over the last axis."""
    d = x.shape[-1]
    return -0.5 * (d * np.log(2 * np.pi * var) + ((x - mean) ** 2).sum(-1) / var)


class LinearGaussian:
    """z ~ N(0, I_2), x = W z + b + eps, eps ~ N(0, s^2 I_3): p(x) = N(b, W W^T + s^2 I), and the
    posterior p(z | x) = N(S W^T (x - b) / s^2, S) with S = (I + W^T W / s^2)^-1."""

    def __init__(self, seed=0, s=0.5):
        rng = np.random.default_rng(seed)
        self.w, self.b, self.s2 = rng.normal(size=(3, 2)), rng.normal(size=3), s * s
        self.cov_post = np.linalg.inv(np.eye(2) + self.w.T @ self.w / self.s2)

    def sample_x(self, n, rng):
        z = rng.standard_normal((n, 2))
        return z @ self.w.T + self.b + np.sqrt(self.s2) * rng.standard_normal((n, 3))

    def log_marginal(self, x):
        return multivariate_normal(self.b, self.w @ self.w.T + self.s2 * np.eye(3)).logpdf(x)

    def log_joint(self, x, z):  # z (k, N, 2), x (N, 3) -> (k, N)
        return log_normal(z, 0.0, 1.0) + log_normal(x, z @ self.w.T + self.b, self.s2)

    def mean_post(self, x):
        return (x - self.b) @ self.w @ self.cov_post / self.s2

    def sample_post(self, x, k, rng):
        return self.mean_post(x) + rng.standard_normal((k, len(x), 2)) @ np.linalg.cholesky(self.cov_post).T

    def log_post(self, x, z):
        chol = np.linalg.cholesky(self.cov_post)
        r = (z - self.mean_post(x)) @ np.linalg.inv(chol).T  # whitened: r ~ N(0, I)
        return -0.5 * (2 * np.log(2 * np.pi) + (r * r).sum(-1)) - np.log(np.diag(chol)).sum()

    @staticmethod
    def sample_prior(x, k, rng):
        return rng.standard_normal((k, len(x), 2))

    @staticmethod
    def log_prior(x, z):
        return log_normal(z, 0.0, 1.0)


def test_the_exact_posterior_gives_the_exact_likelihood_for_every_k():
    model, rng = LinearGaussian(), np.random.default_rng(1)
    x = model.sample_x(6, rng)
    truth = model.log_marginal(x)
    for k in (1, 2, 17, 200):
        est = iwae_log_likelihood(x, model.sample_post, model.log_joint, model.log_post, k, rng)
        assert est.shape == (6,)
        np.testing.assert_allclose(est, truth, rtol=1e-12, atol=1e-12)


def test_with_the_prior_as_proposal_the_estimate_rises_toward_the_likelihood():
    model, rng = LinearGaussian(), np.random.default_rng(2)
    x = model.sample_x(4, rng)
    truth = model.log_marginal(x)
    repeats = 400
    xs = np.tile(x, (repeats, 1))  # every image 400 times: independent estimates to average
    gap, sem = {}, {}  # mean of L_k - log p(x) over images and draws, and its standard error
    for k in (1, 10, 100, 1000):
        est = iwae_log_likelihood(xs, model.sample_prior, model.log_joint, model.log_prior, k, rng)
        err = est.reshape(repeats, 4) - truth
        gap[k] = err.mean()
        sem[k] = np.sqrt((err.var(0) / repeats).sum()) / 4
        if k == 1:  # L_1 is the ELBO; with the prior as q: E log N(x; W z + b, s^2 I), z ~ N(0, I)
            elbo = (-1.5 * np.log(2 * np.pi * model.s2)
                    - (((x - model.b) ** 2).sum(-1) + (model.w ** 2).sum()) / (2 * model.s2))
            assert err.mean(0) + truth == pytest.approx(elbo, abs=4 * err.std(0).max() / np.sqrt(repeats))
    # Below log p(x) on average (Jensen), by far more than the noise of the averages while k is small,
    # rising with k (the gaps here are about -1.8, -0.08, -0.007, -0.001 nats), and close at k = 1000.
    assert gap[1] < -5 * sem[1] and gap[10] < -3 * sem[10]
    assert gap[1] < gap[10] - 3 * np.hypot(sem[1], sem[10])
    assert gap[10] < gap[100] - 3 * np.hypot(sem[10], sem[100])
    assert abs(gap[100]) < 0.03 and abs(gap[1000]) < 0.01


def test_the_estimate_from_given_log_weights():
    log_q = np.log([[0.5, 1.0], [0.25, 2.0]])
    log_joint = log_q + np.log([[1.0, 4.0], [3.0, 4.0]])  # weights 1, 3 (image 0) and 4, 4 (image 1)
    np.testing.assert_allclose(importance_weighted_log_likelihood(log_joint, log_q), np.log([2.0, 4.0]))
    np.testing.assert_allclose(importance_weighted_log_likelihood([-3.0], [-1.0]), -2.0)  # k = 1, one image
    with pytest.raises(ValueError):
        importance_weighted_log_likelihood(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError):
        importance_weighted_log_likelihood(np.zeros((0, 2)), np.zeros((0, 2)))


def test_bits_per_dim():
    dims = 3 * 32 * 32
    assert bits_per_dim(dims * math.log(2) * 3.0, dims) == pytest.approx(3.0, rel=1e-15)
    assert bits_per_dim(80.0, 784) == pytest.approx(80 / 784 / math.log(2))  # 80 nats on MNIST ~ 0.147
    np.testing.assert_allclose(bits_per_dim(np.array([0.0, math.log(2)]), 1), [0.0, 1.0])
    with pytest.raises(ValueError):
        bits_per_dim(1.0, 0)


def test_log_mean_exp_is_stable():
    assert log_mean_exp(np.array([1000.0, 1000.0])) == pytest.approx(1000.0, rel=1e-15)
    assert log_mean_exp(np.array([1000.0, 1000.0 + math.log(3)])) == pytest.approx(1000.0 + math.log(2))
    assert log_mean_exp(np.array([-1000.0, -1000.0 - math.log(3), -np.inf])) == pytest.approx(
        -1000.0 + math.log(4 / 9))
    assert log_mean_exp(np.array([-np.inf, -np.inf])) == -np.inf
    a = np.random.default_rng(3).normal(size=(3, 5))
    np.testing.assert_allclose(log_mean_exp(a, axis=1), np.log(np.exp(a).mean(1)), rtol=1e-14)
    np.testing.assert_allclose(log_mean_exp(a + 800, axis=0), np.log(np.exp(a).mean(0)) + 800, rtol=1e-14)
