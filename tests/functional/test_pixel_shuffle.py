"""pixel_shuffle and pixel_unshuffle against the loop reference (minigen.reference.pixel_shuffle).

Both are permutations, so forward must match exactly and each one's gradient
is the other one applied to g.
"""
import numpy as np
import pytest

import minigen.functional as F
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.reference import pixel_shuffle as ref
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
# (N, C, H, W) of the high-resolution side and r: batch 1, r = 1, odd sizes, r = 3.
CONFIGS = [((1, 1, 2, 2), 2), ((2, 3, 4, 6), 2), ((1, 2, 3, 5), 1), ((3, 2, 9, 3), 3), ((1, 1, 4, 8), 4)]
LAYOUTS = ["contiguous", "transposed", "strided"]


def _array(rng, shape, dtype, layout):
    if layout == "transposed":
        return rng.standard_normal(shape[:2] + shape[:1:-1]).astype(dtype).swapaxes(2, 3)
    if layout == "strided":
        return rng.standard_normal(shape[:3] + (2 * shape[3],)).astype(dtype)[..., ::2]
    return rng.standard_normal(shape).astype(dtype)


def _forward_backward(op, x, g, device):
    t = Tensor(to_device(x, device), requires_grad=True)
    out = op(t)
    out.backward(to_device(g, device))
    assert out.dtype == x.dtype and t.grad.dtype == x.dtype
    return out.numpy(), to_device(t.grad, "cpu")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hr_shape, r", CONFIGS)
def test_pixel_shuffle_matches_reference(hr_shape, r, dtype, layout, device, rng):
    n, c, h, w = hr_shape
    x = _array(rng, (n, c * r * r, h // r, w // r), dtype, layout)
    g = rng.standard_normal(hr_shape).astype(dtype)
    out, dx = _forward_backward(lambda t: F.pixel_shuffle(t, r), x, g, device)
    np.testing.assert_array_equal(out, ref.pixel_shuffle(x, r))
    np.testing.assert_array_equal(dx, ref.pixel_unshuffle(g, r))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hr_shape, r", CONFIGS)
def test_pixel_unshuffle_matches_reference(hr_shape, r, dtype, layout, device, rng):
    n, c, h, w = hr_shape
    y = _array(rng, hr_shape, dtype, layout)
    g = rng.standard_normal((n, c * r * r, h // r, w // r)).astype(dtype)
    out, dy = _forward_backward(lambda t: F.pixel_unshuffle(t, r), y, g, device)
    np.testing.assert_array_equal(out, ref.pixel_unshuffle(y, r))
    np.testing.assert_array_equal(dy, ref.pixel_shuffle(g, r))


def test_shuffle_places_sub_pixel_channels():
    # Channel a r + b of a low-resolution pixel lands at offset (a, b) of its r x r block.
    x = np.arange(4.0).reshape(1, 4, 1, 1)
    np.testing.assert_array_equal(F.pixel_shuffle(Tensor(x), 2).numpy()[0, 0], [[0, 1], [2, 3]])


@pytest.mark.parametrize("hr_shape, r", CONFIGS)
def test_unshuffle_inverts_shuffle(hr_shape, r, rng):
    y = Tensor(rng.standard_normal(hr_shape))
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(y, r), r).numpy(), y.numpy())


@pytest.mark.parametrize("case", G.select("pixel_shuffle") + G.select("pixel_unshuffle"), ids=lambda c: c.name)
def test_gradcheck_cases(case):
    report = G.run(case)
    assert report.passed, report.summary()


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.pixel_shuffle(Tensor(np.zeros((1, 6, 2, 2))), 2), ValueError, r"\(N, C\*2\^2, H, W\)"),
    (lambda: F.pixel_shuffle(Tensor(np.zeros((4, 2, 2))), 2), ValueError, r"got shape \(4, 2, 2\)"),
    (lambda: F.pixel_shuffle(Tensor(np.zeros((1, 4, 2, 2))), 0), ValueError, "upscale_factor must be >= 1"),
    (lambda: F.pixel_shuffle(Tensor(np.zeros((1, 4, 2, 2))), 2.0), TypeError, "upscale_factor must be an int"),
    (lambda: F.pixel_unshuffle(Tensor(np.zeros((1, 1, 4, 5))), 2), ValueError, r"\(N, C, H\*2, W\*2\)"),
    (lambda: F.pixel_unshuffle(Tensor(np.zeros((1, 1, 4, 4))), -1), ValueError, "downscale_factor must be >= 1"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
