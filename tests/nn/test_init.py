"""nn.init: fans, gains, and the empirical bounds / standard deviations of every initialiser."""
import math

import numpy as np
import pytest

import minigen
from minigen import backend
from minigen.nn import init
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]

# (out, in, k, k): fan_in = 64 * 9 = 576, fan_out = 128 * 9 = 1152; 73,728 samples, so the
# sample std is within ~0.5% of the true one (relative s.e. ~ 1/sqrt(2n)) and 3% is a wide margin.
SHAPE = (128, 64, 3, 3)
FAN_IN, FAN_OUT = 64 * 9, 128 * 9


def _weight(dtype=np.float32, device="cpu"):
    return Tensor(backend.to_device(np.zeros(SHAPE, dtype), device))


def _check_uniform(t, bound):
    w = t.numpy().astype(np.float64)
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert np.abs(w).max() > 0.99 * bound                       # the bound is reached
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.03    # U(-b, b) has std b / sqrt(3)
    assert abs(w.mean()) < 0.03 * bound


def _check_normal(t, std):
    w = t.numpy().astype(np.float64)
    assert abs(w.std() / std - 1) < 0.03
    assert abs(w.mean()) < 0.03 * std


def test_fans():
    assert init.calculate_fan_in_and_fan_out(_weight()) == (FAN_IN, FAN_OUT)
    assert init.calculate_fan_in_and_fan_out(Tensor(np.zeros((5, 7)))) == (7, 5)
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.calculate_fan_in_and_fan_out(Tensor(np.zeros(5)))


def test_gains():
    assert init.calculate_gain("linear") == init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_and_normal(dtype, device):
    minigen.manual_seed(0)
    t = init.uniform_(_weight(dtype, device), -0.5, 1.5)
    assert t.dtype == dtype and t.device == device
    w = t.numpy()
    assert w.min() >= -0.5 and w.max() <= 1.5 and abs(w.mean() - 0.5) < 0.01
    t = init.normal_(_weight(dtype, device), 2.0, 0.5)
    w = t.numpy()
    assert t.dtype == dtype and abs(w.mean() - 2.0) < 0.01 and abs(w.std() / 0.5 - 1) < 0.03


def test_constants():
    t = _weight()
    assert init.ones_(t) is t and np.all(t.data == 1)
    init.constant_(t, 0.25)
    assert np.all(t.data == 0.25)
    init.zeros_(t)
    assert np.all(t.data == 0)


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(gain):
    minigen.manual_seed(1)
    _check_uniform(init.xavier_uniform_(_weight(), gain), gain * math.sqrt(6 / (FAN_IN + FAN_OUT)))
    _check_normal(init.xavier_normal_(_weight(), gain), gain * math.sqrt(2 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize("a,nonlinearity,mode", [(0.0, "relu", "fan_in"), (0.2, "leaky_relu", "fan_out"),
                                                 (math.sqrt(5), "leaky_relu", "fan_in"), (0.0, "tanh", "fan_in")])
def test_kaiming(a, nonlinearity, mode):
    minigen.manual_seed(2)
    gain = init.calculate_gain(nonlinearity, a)
    fan = FAN_IN if mode == "fan_in" else FAN_OUT
    _check_uniform(init.kaiming_uniform_(_weight(), a, mode, nonlinearity), gain * math.sqrt(3 / fan))
    _check_normal(init.kaiming_normal_(_weight(), a, mode, nonlinearity), gain / math.sqrt(fan))


def test_kaiming_sqrt5_is_one_over_sqrt_fan_in():
    minigen.manual_seed(3)
    _check_uniform(init.kaiming_uniform_(_weight(), a=math.sqrt(5)), 1 / math.sqrt(FAN_IN))


def test_seeded_and_in_place():
    t = _weight()
    data = t.data
    minigen.manual_seed(7)
    init.normal_(t)
    first = t.data.copy()
    minigen.manual_seed(7)
    init.normal_(t)
    assert t.data is data
    np.testing.assert_array_equal(t.data, first)


def test_bad_arguments():
    with pytest.raises(TypeError, match="Tensor or Parameter"):
        init.normal_(np.zeros(3))
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_normal_(_weight(), mode="fan_avg")
