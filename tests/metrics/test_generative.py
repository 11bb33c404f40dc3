"""Fréchet distance against closed forms, class statistics on cases with known answers,
nearest neighbours against brute force."""
import math

import numpy as np
import pytest

from minigen.metrics import generative as g


def _random_cov(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.1 * np.eye(d)


def _sym_sqrt(s):
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    # diagonal (commuting) covariances: d^2 = |mu1 - mu2|^2 + sum (s1_i - s2_i)^2, s the standard deviations
    s1, s2 = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)
    assert g.frechet_distance(mu1, np.diag(s1 ** 2), mu2, np.diag(s2 ** 2)) == pytest.approx(want, rel=1e-10)
    # general covariances: Tr (S1 S2)^1/2 = Tr (S1^1/2 S2 S1^1/2)^1/2, the symmetric form computed by eigh
    c1, c2 = _random_cov(rng, 6), _random_cov(rng, 6)
    r = _sym_sqrt(c1)
    want = np.trace(c1) + np.trace(c2) - 2 * np.trace(_sym_sqrt(r @ c2 @ r))
    assert g.frechet_distance(np.zeros(6), c1, np.zeros(6), c2) == pytest.approx(want, rel=1e-8)
    # one dimension: (m1 - m2)^2 + (s1 - s2)^2
    assert g.frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)
    assert g.frechet_distance(np.ones(6), c1, np.ones(6), c1) == pytest.approx(0, abs=1e-9)


def test_frechet_distance_of_samples_and_singular_features():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4000, 3))
    b = rng.standard_normal((4000, 3)) * 2 + 1
    # two Gaussians: 3 * 1^2 + 3 * (2 - 1)^2 = 6; sampling error of 4,000 draws is a few per cent
    assert g.frechet_distance_of(a, b) == pytest.approx(6, rel=0.05)
    # a dead feature (always zero, as a ReLU unit can be) makes both covariances singular
    dead = np.zeros((50, 1))
    d = g.frechet_distance_of(np.hstack([a[:50], dead]), np.hstack([a[50:100], dead]))
    assert math.isfinite(d) and d >= -1e-9
    with pytest.raises(ValueError, match="N >= 2"):
        g.feature_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="do not match"):
        g.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_class_statistics():
    k = 10
    one_hot = np.eye(k)[np.arange(100) % k]  # every class equally often, with certainty
    assert g.class_kl(one_hot) == pytest.approx(0)
    assert g.confidence(one_hot) == pytest.approx(1)
    assert g.inception_score(one_hot) == pytest.approx(k, rel=1e-9)
    collapsed = np.tile(np.eye(k)[3], (50, 1))  # always the same class
    assert g.class_kl(collapsed) == pytest.approx(math.log(k))
    assert g.inception_score(collapsed) == pytest.approx(1, rel=1e-9)
    flat = np.full((20, k), 1 / k)  # no opinion at all
    assert g.confidence(flat) == pytest.approx(0.1) and g.inception_score(flat) == pytest.approx(1)
    half = np.eye(k)[[0, 1] * 10]  # two classes, half each: KL = log(10 / 2)
    assert g.class_kl(half) == pytest.approx(math.log(5))
    np.testing.assert_allclose(g.class_histogram(half), [0.5, 0.5] + [0] * 8)
    assert g.conditional_accuracy(half, [0, 1] * 9 + [1, 1]) == pytest.approx(0.95)


def test_softmax_is_stable():
    p = g.softmax(np.array([[1000.0, 1000.0, -1000.0], [0, 0, 0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0], [1 / 3] * 3])


def test_nearest_neighbours_match_brute_force():
    rng = np.random.default_rng(2)
    samples, reference = rng.random((37, 1, 4, 4)), rng.random((90, 1, 4, 4))
    index, dist = g.nearest_neighbours(samples, reference, chunk=8)
    full = np.linalg.norm(samples.reshape(37, 1, 16) - reference.reshape(1, 90, 16), axis=2)
    np.testing.assert_array_equal(index, full.argmin(1))
    np.testing.assert_allclose(dist, full.min(1), rtol=1e-9)
    index, dist = g.nearest_neighbours(reference[5:7], reference)
    assert index.tolist() == [5, 6] and np.allclose(dist, 0, atol=1e-6)
