"""The toy 2-D mixtures of PacGAN: exact mode positions, the stated spread, equal weights, seeding."""
import numpy as np
import pytest

from minigen.data.toys import TOYS, sample_toy, toy_modes


def nearest(x, modes):
    return np.argmin(((x[:, None, :] - modes[None]) ** 2).sum(-1), axis=1)


def test_ring8_modes_lie_on_the_unit_circle_at_multiples_of_45_degrees():
    modes = toy_modes("ring8")
    assert modes.shape == (8, 2) and modes.dtype == np.float64
    np.testing.assert_allclose(np.hypot(modes[:, 0], modes[:, 1]), 1.0, rtol=0, atol=1e-15)
    angles = np.mod(np.arctan2(modes[:, 1], modes[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(np.sort(angles), np.arange(8) * np.pi / 4, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(modes[0], [1.0, 0.0])
    assert TOYS["ring8"].std == 0.01


def test_grid25_modes_are_the_grid_of_even_coordinates():
    modes = toy_modes("grid25")
    assert modes.shape == (25, 2) and modes.dtype == np.float64
    expected = {(a, b) for a in (-4.0, -2.0, 0.0, 2.0, 4.0) for b in (-4.0, -2.0, 0.0, 2.0, 4.0)}
    assert {tuple(m) for m in modes.tolist()} == expected
    assert TOYS["grid25"].std == 0.05


def test_toy_modes_is_a_copy():
    toy_modes("ring8")[:] = 7
    assert TOYS["ring8"].modes[0, 0] == 1.0


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_samples_spread_around_their_mode_with_the_stated_std(name):
    modes, std = TOYS[name]
    x = sample_toy(name, 20000, np.random.default_rng(0))
    assert x.shape == (20000, 2) and x.dtype == np.float64
    residual = x - modes[nearest(x, modes)]  # modes are > 15 std apart: the nearest is the true one
    # 40000 residual values: the sample std has a relative standard error 1/sqrt(2 * 40000) ~ 0.35%,
    # so 2% is over five standard errors; the mean is within 5 std / sqrt(20000) of zero per axis.
    assert residual.std() == pytest.approx(std, rel=0.02)
    np.testing.assert_array_less(np.abs(residual.mean(axis=0)), 5 * std / np.sqrt(20000))
    # and the spread is isotropic
    assert residual[:, 0].std() == pytest.approx(residual[:, 1].std(), rel=0.05)


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_every_mode_is_drawn_equally_often(name):
    modes = TOYS[name].modes
    k, n = len(modes), 1000 * len(modes)
    counts = np.bincount(nearest(sample_toy(name, n, np.random.default_rng(1)), modes), minlength=k)
    # each count is Binomial(n, 1/K): mean 1000, standard deviation sqrt(n (1/K)(1 - 1/K)) < 32;
    # 6 standard deviations for every one of the K counts.
    sd = np.sqrt(n / k * (1 - 1 / k))
    np.testing.assert_array_less(np.abs(counts - n / k), 6 * sd)


def test_sampling_is_determined_by_the_generator():
    a = sample_toy("grid25", 100, np.random.default_rng(5))
    b = sample_toy("grid25", 100, np.random.default_rng(5))
    c = sample_toy("grid25", 100, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sample_toy("ring8", 0, np.random.default_rng(0)).shape == (0, 2)


@pytest.mark.parametrize("call", [lambda: toy_modes("ring9"), lambda: sample_toy("", 3, np.random.default_rng(0))])
def test_an_unknown_name_is_refused_with_the_known_names(call):
    with pytest.raises(ValueError) as err:
        call()
    message = str(err.value)
    assert "ring8" in message and "grid25" in message and "\n" not in message
