"""The loop references themselves: hand-computed values and backward == finite differences of forward."""
import numpy as np
import pytest

from minigen.reference import norm as R


def test_instance_norm_by_hand():
    # Values 1..4: mean 2.5, biased variance 1.25.
    x = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    expected = (x - 2.5) / np.sqrt(1.25 + 1e-5)
    np.testing.assert_allclose(R.instance_norm(x), expected, rtol=1e-15)
    np.testing.assert_allclose(R.instance_norm(x, [2.0], [1.0]), 2 * expected + 1, rtol=1e-15)


def test_batch_norm_running_update_by_hand():
    # Channel values 1, 2, 3, 6: mean 3, unbiased variance 14 / 3.
    x = np.array([1.0, 2.0, 3.0, 6.0]).reshape(2, 1, 2, 1)
    _, mean, var = R.batch_norm(x, np.array([1.0]), np.array([2.0]), training=True, momentum=0.25)
    np.testing.assert_allclose(mean, [0.75 * 1 + 0.25 * 3], rtol=1e-15)
    np.testing.assert_allclose(var, [0.75 * 2 + 0.25 * 14 / 3], rtol=1e-15)


def test_adain_and_cin_reduce_to_instance_norm():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3, 2))
    # A style with mean 0 and sigma(y) = 1 in every plane: y = +-sqrt(1 - eps).
    style = np.sqrt(1 - 1e-5) * np.tile([1.0, -1.0], (2, 3, 1, 1))
    np.testing.assert_allclose(R.adain(x, style), R.instance_norm(x), rtol=1e-12, atol=1e-12)
    gamma, beta = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    np.testing.assert_allclose(R.conditional_instance_norm(x, gamma, beta, np.array([1, 1])),
                               R.instance_norm(x, gamma[1], beta[1]), rtol=1e-12, atol=1e-12)


def _numeric(f, a, h=1e-6):
    """d f(a) / da for a scalar-valued f, by central differences."""
    grad = np.empty(a.shape)
    for i in np.ndindex(*a.shape):
        keep = a[i]
        a[i] = keep + h
        up = f(a)
        a[i] = keep - h
        down = f(a)
        a[i] = keep
        grad[i] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("op", ["batch-train", "batch-eval", "instance", "group"])
def test_backward_matches_finite_differences(op):
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((2, 4, 2, 3)), rng.standard_normal((2, 4, 2, 3))
    w, b = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    forward, backward = {
        "batch-train": (lambda x, w, b: R.batch_norm(x, None, None, w, b, training=True)[0],
                        lambda: R.batch_norm_backward(x, g, None, None, w, training=True)),
        "batch-eval": (lambda x, w, b: R.batch_norm(x, rm, rv, w, b)[0],
                       lambda: R.batch_norm_backward(x, g, rm, rv, w)),
        "instance": (R.instance_norm, lambda: R.instance_norm_backward(x, g, w)),
        "group": (lambda x, w, b: R.group_norm(x, 2, w, b), lambda: R.group_norm_backward(x, g, 2, w)),
    }[op]
    dx, dw, db = backward()
    np.testing.assert_allclose(dx, _numeric(lambda a: (forward(a, w, b) * g).sum(), x), atol=1e-7)
    np.testing.assert_allclose(dw, _numeric(lambda a: (forward(x, a, b) * g).sum(), w), atol=1e-7)
    np.testing.assert_allclose(db, _numeric(lambda a: (forward(x, w, a) * g).sum(), b), atol=1e-7)
