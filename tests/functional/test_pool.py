"""avg_pool2d and max_pool2d against the loop reference (minigen.reference.pool)."""
import numpy as np
import pytest

import minigen.functional as F
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.reference import pool as ref
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]

# (x shape, kernel_size, stride, padding): square and rectangular kernels, default
# stride, overlapping windows, padding, odd sizes, batch 1, a leftover row/column,
# windows tiling the input exactly (the no-overlap backward path).
CONFIGS = [
    ((1, 1, 4, 4), 2, None, 0),
    ((2, 3, 6, 4), (3, 2), None, 0),
    ((2, 3, 7, 6), 3, 2, 1),
    ((1, 2, 6, 9), (2, 3), (1, 2), (1, 1)),
    ((3, 1, 5, 4), (3, 1), 1, (1, 0)),
    ((2, 2, 5, 7), 3, 1, 0),
    ((1, 1, 1, 5), (1, 2), None, 0),
]


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def _forward_backward(op, x, g, device, **kwargs):
    """op's output and input gradient (as NumPy) for upstream gradient g."""
    t = Tensor(to_device(x, device), requires_grad=True)
    out = op(t, **kwargs)
    out.backward(to_device(g.astype(x.dtype), device))
    assert out.dtype == x.dtype and t.grad.dtype == x.dtype
    return out.numpy(), to_device(t.grad, "cpu")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kernel, stride, padding", CONFIGS)
def test_avg_pool2d_matches_reference(shape, kernel, stride, padding, dtype, device, rng, threads):
    x = rng.standard_normal(shape).astype(dtype)
    kw = dict(kernel_size=kernel, stride=stride, padding=padding)
    expected = ref.avg_pool2d(x, **kw)
    g = rng.standard_normal(expected.shape)
    out, dx = _forward_backward(F.avg_pool2d, x, g, device, **kw)
    np.testing.assert_allclose(out, expected, **_tol(dtype))
    np.testing.assert_allclose(dx, ref.avg_pool2d_backward(g.astype(dtype), shape, **kw), **_tol(dtype))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, kernel, stride, padding", CONFIGS)
def test_max_pool2d_matches_reference(shape, kernel, stride, padding, dtype, device, rng, threads):
    x = rng.standard_normal(shape).astype(dtype)
    kw = dict(kernel_size=kernel, stride=stride, padding=padding)
    expected = ref.max_pool2d(x, **kw)
    g = rng.standard_normal(expected.shape)
    out, dx = _forward_backward(F.max_pool2d, x, g, device, **kw)
    np.testing.assert_array_equal(out, expected.astype(dtype))  # a maximum is an exact copy
    np.testing.assert_allclose(dx, ref.max_pool2d_backward(x, g.astype(dtype), **kw), **_tol(dtype))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ["avg_pool2d", "max_pool2d"])
@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_non_contiguous_input(op, layout, device, rng):
    shape = (2, 3, 6, 5)
    if layout == "transposed":
        x = rng.standard_normal((2, 3, 5, 6)).swapaxes(2, 3)
    else:
        x = rng.standard_normal((2, 3, 6, 10))[..., ::2]
    assert not x.flags.c_contiguous and x.shape == shape
    kw = dict(kernel_size=3, stride=2, padding=1)
    g = rng.standard_normal(getattr(ref, op)(x, **kw).shape)
    out, dx = _forward_backward(getattr(F, op), x, g, device, **kw)
    np.testing.assert_allclose(out, getattr(ref, op)(x, **kw), rtol=1e-12, atol=1e-12)
    expected = (ref.avg_pool2d_backward(g, shape, **kw) if op == "avg_pool2d"
                else ref.max_pool2d_backward(x, g, **kw))
    np.testing.assert_allclose(dx, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_ties_go_to_the_first_maximum(device, rng):
    # Constant input: every tap ties, so each window's gradient lands on its first
    # (top-left) element; overlapping windows add up on shared elements.
    x = np.ones((1, 2, 5, 5))
    g = rng.standard_normal((1, 2, 4, 4))
    _, dx = _forward_backward(F.max_pool2d, x, g, device, kernel_size=2, stride=1)
    expected = np.zeros_like(x)
    expected[:, :, :4, :4] = g
    np.testing.assert_array_equal(dx, expected)
    np.testing.assert_array_equal(dx, ref.max_pool2d_backward(x, g, 2, 1))


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_ties_in_tiling_windows(device, rng, threads):
    # Windows that tile the input (the ReLU-zeros case of VGG): all-zero windows send
    # their gradient to the top-left element; a window with one larger value to it.
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 3, 2] = 1.0
    g = rng.standard_normal((1, 1, 2, 2))
    _, dx = _forward_backward(F.max_pool2d, x, g, device, kernel_size=2)
    expected = np.zeros_like(x)
    expected[0, 0, ::2, ::2] = g[0, 0]
    expected[0, 0, 2, 2], expected[0, 0, 3, 2] = 0.0, g[0, 0, 1, 1]
    np.testing.assert_array_equal(dx, expected)
    np.testing.assert_array_equal(dx, ref.max_pool2d_backward(x, g, 2, 2))


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_padding_is_minus_infinity(device):
    # All-negative input: zero padding would win at the borders, -inf padding never does.
    x = -np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    out, _ = _forward_backward(F.max_pool2d, x, np.ones((1, 1, 3, 3)), device, kernel_size=2, padding=1)
    np.testing.assert_array_equal(out[0, 0], [[-1, -2, -4], [-5, -6, -8], [-13, -14, -16]])


def test_avg_pool2d_counts_padding():
    x = Tensor(np.ones((1, 1, 2, 2)))
    np.testing.assert_allclose(F.avg_pool2d(x, 3, stride=1, padding=1).numpy()[0, 0], np.full((2, 2), 4 / 9))


@pytest.mark.parametrize("case", G.select("avg_pool2d") + G.select("max_pool2d"), ids=lambda c: c.name)
def test_gradcheck_cases(case):
    report = G.run(case)
    assert report.passed, report.summary()


@pytest.mark.parametrize("op", [F.avg_pool2d, F.max_pool2d])
@pytest.mark.parametrize("shape, kwargs, error, message", [
    ((2, 4, 4), dict(kernel_size=2), ValueError, r"\(N, C, H, W\)"),
    ((1, 1, 4, 4), dict(kernel_size=0), ValueError, "kernel_size >= 1"),
    ((1, 1, 4, 4), dict(kernel_size=2, stride=0), ValueError, "stride >= 1"),
    ((1, 1, 4, 4), dict(kernel_size=2, padding=-1), ValueError, "padding >= 0"),
    ((1, 1, 4, 4), dict(kernel_size=3, padding=2), ValueError, "at most half"),
    ((1, 1, 4, 4), dict(kernel_size=(5, 2)), ValueError, "larger than the padded input"),
    ((1, 1, 4, 4), dict(kernel_size=(2, 2, 2)), TypeError, "kernel_size must be an int or a pair"),
    ((1, 1, 4, 4), dict(kernel_size=2, stride=1.5), TypeError, "stride must be an int or a pair"),
])
def test_bad_arguments(op, shape, kwargs, error, message):
    with pytest.raises(error, match=message):
        op(Tensor(np.zeros(shape)), **kwargs)
