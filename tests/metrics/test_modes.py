"""Mode counting (PacGAN): modes captured, percent high quality, reverse KL over modes."""
import math

import numpy as np
import pytest
from scipy.stats import chi2

from minigen.data.toys import TOYS, sample_toy
from minigen.metrics import modes as modes_module
from minigen.metrics.modes import mode_metrics, nearest_modes, reverse_kl

# P(|e| <= 3) for e ~ N(0, I_2): |e|^2 is chi-square with 2 degrees of freedom, P = 1 - exp(-9/2).
HIGH_QUALITY_OF_TRUE_SAMPLES = 100 * (1 - math.exp(-4.5))


def test_the_two_dimensional_three_sigma_probability():
    assert HIGH_QUALITY_OF_TRUE_SAMPLES == pytest.approx(98.889, abs=1e-3)
    assert HIGH_QUALITY_OF_TRUE_SAMPLES == pytest.approx(100 * chi2.cdf(9, 2))


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_of_the_true_distribution_capture_every_mode_evenly(name):
    k = len(TOYS[name].modes)
    m = mode_metrics(sample_toy(name, 2500, np.random.default_rng(0)), name)  # the paper's 2,500
    assert set(m) == {"modes", "high_quality", "reverse_kl"}
    assert m["modes"] == k and isinstance(m["modes"], int)
    # high_quality ~ 100 Binomial(2500, p) / 2500: standard deviation 100 sqrt(p (1 - p) / 2500) ~ 0.21
    assert m["high_quality"] == pytest.approx(HIGH_QUALITY_OF_TRUE_SAMPLES, abs=5 * 0.21)
    # With n samples spread over K equally likely modes, 2 n KL(q || p) is close to a chi-square
    # with K - 1 degrees of freedom (the G-test): its 99.99th percentile bounds it.
    n = 2500 * m["high_quality"] / 100
    assert 0 < m["reverse_kl"] < chi2.ppf(0.9999, k - 1) / (2 * n)


def test_the_high_quality_rate_is_the_two_dimensional_one_not_99_7():
    m = mode_metrics(sample_toy("grid25", 40000, np.random.default_rng(1)), "grid25")
    # standard deviation 100 sqrt(0.9889 * 0.0111 / 40000) ~ 0.052: 0.3 is ~6 of them, and 99.73 is 16 away
    assert m["high_quality"] == pytest.approx(HIGH_QUALITY_OF_TRUE_SAMPLES, abs=0.3)


def test_three_of_eight_modes_evenly_give_log_8_over_3():
    modes, std = TOYS["ring8"]
    offsets = np.array([[0.0, 0.0], [std, 0.0], [0.0, -2 * std], [-2 * std, 2 * std]])  # all within 3 std
    samples = np.concatenate([modes[k] + offsets for k in (0, 3, 5)])
    m = mode_metrics(samples, "ring8")
    assert m["modes"] == 3 and m["high_quality"] == 100.0
    assert m["reverse_kl"] == pytest.approx(math.log(8 / 3), rel=1e-12)


def test_uneven_capture_and_low_quality_samples():
    modes, std = TOYS["ring8"]
    samples = np.concatenate([np.repeat(modes[:1], 3, axis=0), modes[1:2],
                              (modes[2:3] + modes[3:4]) / 2])  # a midpoint: no mode near it
    m = mode_metrics(samples, "ring8")
    assert m["modes"] == 2 and m["high_quality"] == pytest.approx(80.0)
    q = np.array([0.75, 0.25])
    assert m["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(8 * q))), rel=1e-12)


def test_far_noise_is_never_high_quality():
    samples = np.random.default_rng(2).uniform(100, 101, (500, 2))
    m = mode_metrics(samples, "grid25")
    assert m == {"modes": 0, "high_quality": 0.0, "reverse_kl": float("inf")}
    assert reverse_kl(np.zeros(8)) == float("inf")


def test_modes_given_as_an_array_and_the_three_std_boundary():
    modes = np.array([[0.0, 0.0], [10.0, 0.0]])
    inside = mode_metrics([[1.5, 0.0]], modes, std=0.5)    # exactly 3 std away: high quality
    outside = mode_metrics([[1.5000001, 0.0]], modes, std=0.5)
    assert inside["modes"] == 1 and inside["high_quality"] == 100.0
    assert inside["reverse_kl"] == pytest.approx(math.log(2))
    assert outside["modes"] == 0 and outside["high_quality"] == 0.0
    assert mode_metrics([[1.5, 0.0]], "ring8", std=1.0)["high_quality"] == 100.0  # std overrides the toy's


def test_nearest_modes_works_in_blocks(monkeypatch):
    x = sample_toy("grid25", 100, np.random.default_rng(3)) * 1.3
    whole = nearest_modes(x, TOYS["grid25"].modes)
    monkeypatch.setattr(modes_module, "CHUNK", 7)
    blocks = nearest_modes(x, TOYS["grid25"].modes)
    np.testing.assert_array_equal(whole[0], blocks[0])
    np.testing.assert_array_equal(whole[1], blocks[1])
    d = np.linalg.norm(x[:, None] - TOYS["grid25"].modes[None], axis=-1)
    np.testing.assert_array_equal(whole[0], d.argmin(1))
    np.testing.assert_allclose(whole[1], d.min(1), rtol=1e-15)


@pytest.mark.parametrize("args, kw", [
    ((np.zeros((5, 3)), "ring8"), {}),
    ((np.zeros(2), "ring8"), {}),
    ((np.array([[0.0, np.nan]]), "ring8"), {}),
    ((np.array([[np.inf, 0.0]]), "ring8"), {}),
    ((np.zeros((0, 2)), "ring8"), {}),
    ((np.zeros((5, 2)), "ring7"), {}),
    ((np.zeros((5, 2)), np.zeros((3, 2))), {}),           # modes as an array need a std
    ((np.zeros((5, 2)), np.zeros((3, 1))), {"std": 1.0}),
    ((np.zeros((5, 2)), "ring8"), {"std": 0.0}),
    ((np.zeros((5, 2)), "ring8"), {"std": float("nan")}),
])
def test_bad_input_is_refused_in_one_line(args, kw):
    with pytest.raises(ValueError) as err:
        mode_metrics(*args, **kw)
    assert "\n" not in str(err.value)
