"""Inverted dropout: each unit is zeroed or scaled by 1/(1-p), the mask is seeded and
shared by forward and backward, and evaluation is the identity."""
import numpy as np
import pytest

import minigen
import minigen.functional as F
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]


def _dropped(x_np, p, device, seed=3):
    minigen.manual_seed(seed)
    x = Tensor(to_device(x_np, device), requires_grad=True)
    y = F.dropout(x, p)
    y.backward(to_device(np.ones(x_np.shape, x_np.dtype), device))
    return y.numpy(), to_device(x.grad, "cpu")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(1, 3, 7, 5), (2, 50, 41)])
def test_units_are_zeroed_or_scaled(shape, p, dtype, device, rng):
    x_np = rng.uniform(0.5, 2.0, shape).astype(dtype)  # nonzero, so a dropped unit is visible
    y, grad = _dropped(x_np, p, device)
    assert y.dtype == dtype and grad.dtype == dtype
    kept = y != 0
    scale = dtype(1 / (1 - p))
    np.testing.assert_allclose(y[kept], x_np[kept] * scale, rtol=1e-6)
    # backward multiplies by the same mask: d(sum y)/dx = scale where kept, 0 where dropped
    np.testing.assert_allclose(grad, np.where(kept, scale, 0), rtol=1e-6)
    # the kept fraction is Binomial(n, 1-p)/n: within 5 standard deviations
    n = x_np.size
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)


def test_mean_is_preserved_on_average():
    x_np = np.ones((200, 200), np.float32)
    y, _ = _dropped(x_np, 0.3, "cpu")
    assert abs(y.mean() - 1.0) < 0.02  # std of the mean ~ 0.0033


def test_seed_fixes_the_mask_and_different_seeds_differ(rng):
    x_np = rng.standard_normal((4, 5, 6)).astype(np.float32)
    first, _ = _dropped(x_np, 0.5, "cpu", seed=11)
    again, _ = _dropped(x_np, 0.5, "cpu", seed=11)
    other, _ = _dropped(x_np, 0.5, "cpu", seed=12)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first != 0, other != 0)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", DTYPES)
def test_same_mask_on_cpu_and_gpu(dtype, rng):
    x_np = rng.uniform(0.5, 2.0, (3, 4, 5)).astype(dtype)
    np.testing.assert_array_equal(_dropped(x_np, 0.4, "cpu")[0], _dropped(x_np, 0.4, "cuda")[0])


def test_non_contiguous_input(rng):
    x_np = rng.uniform(0.5, 2.0, (6, 8)).astype(np.float32).T[::2]
    y, grad = _dropped(x_np, 0.5, "cpu")
    kept = y != 0
    np.testing.assert_allclose(y[kept], 2 * x_np[kept], rtol=1e-6)
    np.testing.assert_array_equal(grad, 2.0 * kept)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p, training", [(0.0, True), (0.5, False), (0.99, False)])
def test_identity_when_p_is_zero_or_evaluating(p, training, device):
    x = Tensor(to_device(np.ones((2, 3), np.float32), device), requires_grad=True)
    assert F.dropout(x, p, training=training) is x


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_bad_probability(p):
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\)"):
        F.dropout(Tensor(np.ones(3, np.float32)), p)


@pytest.mark.parametrize("name", [c.name for c in G.select("dropout")])
def test_gradcheck(name):
    report = G.run(G.CASES[name])
    assert report.passed, report.summary()
