"""grid_sample, affine_grid and interpolate against the loop reference (minigen.reference.sample)."""
import numpy as np
import pytest

import minigen.functional as F
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.reference import sample as ref
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
ALIGN = [True, False]


def _tol(dtype):
    # float32: the pixel coordinate is rounded to ~1e-7 relative before the weights are formed.
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def _forward_backward(op, arrays, g, device):
    """op's output and the gradient of every input (as NumPy) for upstream gradient g."""
    ts = [Tensor(to_device(a, device), requires_grad=True) for a in arrays]
    out = op(*ts)
    out.backward(to_device(g.astype(out.dtype), device))
    assert out.dtype == arrays[0].dtype and all(t.grad.dtype == arrays[0].dtype for t in ts)
    return out.numpy(), [to_device(t.grad, "cpu") for t in ts]


def _close(actual, expected, dtype):
    np.testing.assert_allclose(actual, expected, **_tol(dtype))


# ---- grid_sample -------------------------------------------------------------

# (x shape, grid (Ho, Wo)): batch 1, odd sizes, a one-pixel-high image, a single sample.
SAMPLE_CONFIGS = [((1, 1, 3, 4), (2, 5)), ((2, 3, 5, 4), (3, 3)), ((1, 2, 1, 6), (4, 2)), ((3, 1, 4, 4), (1, 1))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize("x_shape, grid_hw", SAMPLE_CONFIGS)
def test_grid_sample_matches_reference(x_shape, grid_hw, align_corners, dtype, device, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    grid = rng.uniform(-1.4, 1.4, (x_shape[0],) + grid_hw + (2,)).astype(dtype)  # partly outside
    g = rng.standard_normal(x_shape[:2] + grid_hw).astype(dtype)
    out, (dx, dgrid) = _forward_backward(lambda a, b: F.grid_sample(a, b, align_corners), [x, grid], g, device)
    _close(out, ref.grid_sample(x, grid, align_corners), dtype)
    ref_dx, ref_dgrid = ref.grid_sample_backward(x, grid, g, align_corners)
    _close(dx, ref_dx, dtype)
    _close(dgrid, ref_dgrid, dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_grid_sample_non_contiguous_inputs(device, rng):
    x = rng.standard_normal((2, 3, 4, 5)).swapaxes(2, 3)          # (2, 3, 5, 4)
    grid = rng.uniform(-1.2, 1.2, (2, 6, 3, 2))[:, ::2]           # (2, 3, 3, 2)
    g = rng.standard_normal((2, 3, 3, 3))
    out, (dx, dgrid) = _forward_backward(F.grid_sample, [x, grid], g, device)
    _close(out, ref.grid_sample(x, grid), np.float64)
    ref_dx, ref_dgrid = ref.grid_sample_backward(x, grid, g)
    _close(dx, ref_dx, np.float64)
    _close(dgrid, ref_dgrid, np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 1, 1, 4), (1, 2, 6, 1)])
def test_identity_warp_reproduces_input(shape, align_corners, dtype, device, rng):
    x = to_device(rng.standard_normal(shape).astype(dtype), device)
    theta = to_device(np.tile(np.eye(2, 3), (shape[0], 1, 1)).astype(dtype), device)
    grid = F.affine_grid(theta, shape, align_corners)
    _close(F.grid_sample(x, grid, align_corners).numpy(), to_device(x, "cpu"), dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_one_pixel_shift_and_zero_padding(device, rng):
    # With align_corners=False, W pixels span [-1, 1], so a shift of 2/W reads one pixel to the right
    # and the last column falls outside (zero); a grid far outside reads zeros and sends no gradient.
    x = rng.standard_normal((1, 2, 3, 4))
    theta = np.array([[[1.0, 0.0, 2 / 4], [0.0, 1.0, 0.0]]])
    shifted = F.grid_sample(to_device(x, device), F.affine_grid(to_device(theta, device), x.shape)).numpy()
    np.testing.assert_allclose(shifted[..., :3], x[..., 1:], atol=1e-12)
    np.testing.assert_allclose(shifted[..., 3], 0, atol=1e-12)
    out, (dx, dgrid) = _forward_backward(F.grid_sample, [x, np.full((1, 2, 2, 2), 3.0)],
                                         np.ones((1, 2, 2, 2)), device)
    assert not out.any() and not dx.any() and not dgrid.any()


@pytest.mark.parametrize("device", DEVICES)
def test_grid_sample_keeps_float32_and_accumulates_batches(device, rng):
    # Two batch elements sampling the same pixel must not mix (flat scatter offsets per (n, c)).
    x = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    grid = np.zeros((2, 4, 1, 2), np.float32)  # every sample at the centre pixel
    out, (dx, _) = _forward_backward(F.grid_sample, [x, grid], np.ones((2, 2, 4, 1)), device)
    np.testing.assert_array_equal(out[..., 0], np.repeat(x[:, :, 1:2, 1], 4, axis=2))
    expected = np.zeros_like(x)
    expected[:, :, 1, 1] = 4
    np.testing.assert_array_equal(dx, expected)


# ---- affine_grid ---------------------------------------------------------------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", ALIGN)
@pytest.mark.parametrize("size", [(1, 3, 4, 5), (2, 1, 3, 3), (3, 2, 1, 4), (1, 1, 5, 1)])
def test_affine_grid_matches_reference(size, align_corners, dtype, device, rng):
    theta = rng.standard_normal((size[0], 2, 3)).astype(dtype)
    g = rng.standard_normal((size[0],) + size[2:] + (2,)).astype(dtype)
    out, (dtheta,) = _forward_backward(lambda t: F.affine_grid(t, size, align_corners), [theta], g, device)
    _close(out, ref.affine_grid(theta, size, align_corners), dtype)
    _close(dtheta, ref.affine_grid_backward(g, align_corners), dtype)


def test_affine_grid_pixel_centres():
    theta = Tensor(np.eye(2, 3)[None])
    np.testing.assert_allclose(F.affine_grid(theta, (1, 1, 1, 3), True).numpy()[0, 0, :, 0], [-1, 0, 1])
    np.testing.assert_allclose(F.affine_grid(theta, (1, 1, 1, 2), False).numpy()[0, 0, :, 0], [-0.5, 0.5])


# ---- interpolate ---------------------------------------------------------------

# (x shape, interpolate keywords): up/down, non-integer ratios, odd sizes, batch 1,
# 1-pixel inputs and outputs, both align_corners.
RESIZE_CONFIGS = [
    ((1, 1, 3, 4), dict(size=(7, 9))),
    ((2, 3, 7, 5), dict(size=(3, 2))),
    ((1, 2, 4, 4), dict(scale_factor=2)),
    ((2, 1, 1, 5), dict(size=(3, 1))),
    ((1, 1, 3, 4), dict(size=(7, 9), mode="bilinear")),
    ((2, 3, 7, 5), dict(size=(3, 2), mode="bilinear")),
    ((1, 2, 5, 6), dict(scale_factor=(1.5, 0.5), mode="bilinear")),
    ((1, 1, 3, 4), dict(size=(7, 9), mode="bilinear", align_corners=True)),
    ((2, 3, 7, 5), dict(size=(3, 2), mode="bilinear", align_corners=True)),
    ((1, 2, 1, 5), dict(size=(4, 1), mode="bilinear", align_corners=True)),
]


def _ref_interpolate(x, out_hw, kwargs):
    mode, align = kwargs.get("mode", "nearest"), bool(kwargs.get("align_corners"))
    return ref.interpolate(x, out_hw, mode, align), mode, align


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x_shape, kwargs", RESIZE_CONFIGS)
def test_interpolate_matches_reference(x_shape, kwargs, dtype, device, rng):
    x = rng.standard_normal(x_shape).astype(dtype)
    out_shape = F.interpolate(Tensor(x), **kwargs).shape
    g = rng.standard_normal(out_shape).astype(dtype)
    out, (dx,) = _forward_backward(lambda t: F.interpolate(t, **kwargs), [x], g, device)
    expected, mode, align = _ref_interpolate(x, out_shape[2:], kwargs)
    _close(out, expected, dtype)
    _close(dx, ref.interpolate_backward(g, x_shape[2:], mode, align), dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_interpolate_non_contiguous_input(mode, device, rng):
    x = rng.standard_normal((2, 2, 10, 4))[:, :, ::2].swapaxes(2, 3)  # (2, 2, 4, 5)
    g = rng.standard_normal((2, 2, 7, 3))
    out, (dx,) = _forward_backward(lambda t: F.interpolate(t, size=(7, 3), mode=mode), [x], g, device)
    _close(out, ref.interpolate(x, (7, 3), mode), np.float64)
    _close(dx, ref.interpolate_backward(g, (4, 5), mode), np.float64)


@pytest.mark.parametrize("mode, align", [("nearest", None), ("bilinear", False), ("bilinear", True)])
@pytest.mark.parametrize("scale", [2, (0.5, 1.5), (1.7, 0.34)])
def test_interpolate_scale_factor_equals_size(scale, mode, align, rng):
    x = Tensor(rng.standard_normal((1, 2, 5, 6)))
    by_scale = F.interpolate(x, scale_factor=scale, mode=mode, align_corners=align)
    sh, sw = (scale, scale) if np.isscalar(scale) else scale
    by_size = F.interpolate(x, size=(int(5 * sh), int(6 * sw)), mode=mode, align_corners=align)
    np.testing.assert_array_equal(by_scale.numpy(), by_size.numpy())


def test_nearest_integer_upscale_repeats_pixels(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    expected = x.repeat(3, axis=2).repeat(2, axis=3)
    np.testing.assert_array_equal(F.interpolate(Tensor(x), scale_factor=(3, 2)).numpy(), expected)


@pytest.mark.parametrize("align", [True, False])
def test_bilinear_same_size_is_identity_and_corners_align(align, rng):
    x = rng.standard_normal((1, 2, 4, 5))
    _close(F.interpolate(Tensor(x), size=(4, 5), mode="bilinear", align_corners=align).numpy(), x, np.float64)
    up = F.interpolate(Tensor(x), size=(9, 13), mode="bilinear", align_corners=align).numpy()
    # Upsampling keeps the corner pixels either way (align_corners=False by clamping at the border).
    _close(up[..., ::8, ::12], x[..., ::3, ::4], np.float64)


# ---- gradient checks and errors ---------------------------------------------------

@pytest.mark.parametrize("case", G.select("grid_sample") + G.select("affine_grid") + G.select("interpolate"),
                         ids=lambda c: c.name)
def test_gradcheck_cases(case):
    report = G.run(case)
    assert report.passed, report.summary()


def _t(*shape):
    return Tensor(np.zeros(shape))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.grid_sample(_t(1, 1, 3, 3), _t(1, 2, 2, 3)), ValueError, r"grid_sample: .*\(1, 2, 2, 3\)"),
    (lambda: F.grid_sample(_t(2, 1, 3, 3), _t(1, 2, 2, 2)), ValueError, "grid_sample: need x"),
    (lambda: F.grid_sample(_t(1, 3, 3), _t(1, 2, 2, 2)), ValueError, "grid_sample: need x"),
    (lambda: F.affine_grid(_t(1, 3, 3), (1, 1, 4, 4)), ValueError, r"theta must be \(N, 2, 3\)"),
    (lambda: F.affine_grid(_t(2, 2, 3), (1, 1, 4, 4)), ValueError, "with N = 2"),
    (lambda: F.affine_grid(_t(1, 2, 3), (1, 4, 4)), ValueError, r"size must be \(N, C, H, W\)"),
    (lambda: F.affine_grid(_t(1, 2, 3), (1, 1, 0, 4)), ValueError, "positive sizes"),
    (lambda: F.affine_grid(_t(1, 2, 3), (1, 1, 2.5, 4)), TypeError, "size must be a sequence of ints"),
    (lambda: F.interpolate(_t(1, 3, 3), size=2), ValueError, r"interpolate: x must be \(N, C, H, W\)"),
    (lambda: F.interpolate(_t(1, 1, 3, 3)), ValueError, "exactly one of size and scale_factor"),
    (lambda: F.interpolate(_t(1, 1, 3, 3), size=2, scale_factor=2), ValueError, "exactly one"),
    (lambda: F.interpolate(_t(1, 1, 3, 3), size=2, mode="bicubic"), ValueError, "mode must be"),
    (lambda: F.interpolate(_t(1, 1, 3, 3), size=2, align_corners=True), ValueError, "only to mode='bilinear'"),
    (lambda: F.interpolate(_t(1, 1, 3, 3), size=(2, 0)), ValueError, "is empty"),
    (lambda: F.interpolate(_t(1, 1, 3, 3), scale_factor=0.2), ValueError, "is empty"),
    (lambda: F.interpolate(_t(1, 1, 3, 3), scale_factor=-2), ValueError, "positive number or pair"),
    (lambda: F.interpolate(_t(1, 1, 3, 3), size=2.5), TypeError, "size must be an int or a pair"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
