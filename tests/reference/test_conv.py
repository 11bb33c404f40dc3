"""The loop reference for conv2d / conv_transpose2d checked on its own: hand-worked
examples, its backward against finite differences of its forward, and adjointness."""
import numpy as np
import pytest

from minigen.reference import conv as ref


def test_conv2d_by_hand():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(1, 1, 2, 2)  # y = x[i, j] - x[i+1, j+1]
    np.testing.assert_array_equal(ref.conv2d(x, w, np.array([0.5])), np.full((1, 1, 2, 2), -3.5))
    # stride 2, padding 1: windows at padded (0, 0), (0, 2), (2, 0), (2, 2), only the last one all inside
    np.testing.assert_array_equal(ref.conv2d(x, w, stride=2, padding=1)[0, 0], [[0.0, -2.0], [-6.0, -4.0]])
    # dilation 2 pairs x[0, 0] with x[2, 2]
    np.testing.assert_array_equal(ref.conv2d(x, w, dilation=2)[0, 0], [[-8.0]])


def test_conv2d_groups_by_hand():
    x = np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))])[None]  # channel 0 all 1, channel 1 all 2
    w = np.ones((2, 1, 1, 1))
    np.testing.assert_array_equal(ref.conv2d(x, w, groups=2)[0, :, 0, 0], [1.0, 2.0])
    np.testing.assert_array_equal(ref.conv2d(x, np.ones((1, 2, 1, 1)))[0, 0, 0, 0], 3.0)


def test_conv_transpose2d_by_hand():
    x = np.array([1.0, 2.0]).reshape(1, 1, 1, 2)
    w = np.array([1.0, 10.0]).reshape(1, 1, 1, 2)
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w, stride=(1, 2))[0, 0, 0], [1, 10, 2, 20])
    np.testing.assert_array_equal(ref.conv_transpose2d(x, w)[0, 0, 0], [1, 12, 20])  # overlap adds
    out = ref.conv_transpose2d(x, w, stride=(1, 3), padding=(0, 1), output_padding=(0, 2))
    np.testing.assert_array_equal(out[0, 0, 0], [10, 0, 2, 20, 0])  # the last column: no input reaches it


CONFIGS = [
    ("conv2d", (2, 4, 5, 6), (6, 2, 3, 2), dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)),
    ("conv2d", (1, 2, 4, 4), (3, 2, 2, 2), dict()),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 3, 2, 3), dict(stride=2, padding=(1, 0), output_padding=1,
                                                          groups=2)),
    ("conv_transpose2d", (1, 2, 3, 3), (2, 1, 3, 3), dict(dilation=2, padding=1)),
]


@pytest.mark.parametrize("op, x_shape, w_shape, params", CONFIGS)
def test_backward_matches_finite_differences(op, x_shape, w_shape, params):
    """The ops are linear in x, in w and in b, so central differences are exact up to rounding."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out_channels = w_shape[0] if op == "conv2d" else w_shape[1] * params.get("groups", 1)
    b = rng.standard_normal(out_channels)
    forward = getattr(ref, op)
    gy = rng.standard_normal(forward(x, w, b, **params).shape)
    grads = getattr(ref, op + "_backward")(x, w, gy, **params)
    for k, (value, grad) in enumerate(zip((x, w, b), grads)):
        v = rng.standard_normal(value.shape)  # a random direction

        def loss(t):
            args = [x, w, b]
            args[k] = value + t * v
            return float((forward(*args, **params) * gy).sum())
        assert abs((loss(1e-3) - loss(-1e-3)) / 2e-3 - float((grad * v).sum())) < 1e-8 * (1 + abs(loss(0)))


def test_transposed_is_the_adjoint():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((6, 2, 3, 2))
    params = dict(stride=2, padding=(1, 0), groups=2)
    y = rng.standard_normal(ref.conv2d(x, w, **params).shape)
    back = ref.conv_transpose2d(y, w, output_padding=1, **params)
    assert back.shape == x.shape
    assert abs((ref.conv2d(x, w, **params) * y).sum() - (x * back).sum()) < 1e-10
