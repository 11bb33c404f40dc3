"""Bilinear sampling kernels (kernels/sample.cu via minigen.cuda.sample) against the NumPy path:
grid_sample forward and both gradients (grids partly or far outside, grid points exactly on pixel
centres, both align_corners), interpolate up and down (bilinear and nearest), non-contiguous inputs,
float32 and float64, and a float64 finite-difference check on the GPU."""
import numpy as np
import pytest

import minigen.functional as F
from minigen.backend import to_device
from minigen.gradcheck import gradcheck
from minigen.tensor import Tensor

pytestmark = pytest.mark.gpu

TOL = {np.float32: 1e-4, np.float64: 1e-10}


def _close(actual, expected, dtype):
    assert actual.dtype == dtype and actual.shape == expected.shape
    tol = TOL[dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(1.0, float(np.abs(expected).max())))


def _run(fn, arrays, g, device, views=None):
    """fn on leaves (all requiring grad) and backward with g: host output and gradients.
    views: per array, None or a function giving a non-contiguous device layout of it."""
    leaves = []
    for i, a in enumerate(arrays):
        d = to_device(a, device)
        if views is not None and views[i] is not None:
            d = views[i](d)
        leaves.append(Tensor(d, requires_grad=True))
    y = fn(*leaves)
    y.backward(to_device(g, device))
    return y.numpy(), [to_device(t.grad, "cpu") for t in leaves]


def _same_as_cpu(fn, arrays, g, dtype, views=None):
    arrays = [a.astype(dtype) for a in arrays]
    y_cpu, grads_cpu = _run(fn, arrays, g.astype(dtype), "cpu")
    y_gpu, grads_gpu = _run(fn, arrays, g.astype(dtype), "cuda", views)
    _close(y_gpu, y_cpu, dtype)
    for got, expected in zip(grads_gpu, grads_cpu):
        _close(got, expected, dtype)


# ---- grid_sample ---------------------------------------------------------------------------

SAMPLE_SHAPES = [  # (x shape, grid (Ho, Wo))
    ((1, 1, 3, 4), (2, 5)),
    ((2, 3, 5, 4), (3, 3)),
    ((1, 2, 1, 6), (4, 2)),      # one pixel high
    ((3, 1, 4, 4), (1, 1)),      # a single sample
    ((2, 16, 97, 131), (64, 80)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("x_shape, grid_hw", SAMPLE_SHAPES, ids=str)
def test_grid_sample_matches_numpy_path(x_shape, grid_hw, align_corners, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape)
    grid = rng.uniform(-1.3, 1.3, (x_shape[0],) + grid_hw + (2,))  # partly outside
    grid.reshape(-1, 2)[:3] = [(1e9, 0.0), (0.0, -1e9), (-3.0, 5.0)]  # far outside: zeros
    g = rng.standard_normal(x_shape[:2] + grid_hw)
    _same_as_cpu(lambda x, grid: F.grid_sample(x, grid, align_corners), [x, grid], g, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_points_on_pixel_centres(align_corners, dtype):
    """Grid points exactly on pixel centres and edges (the kinks of the bilinear kernel): the kernel
    forms the pixel coordinate without fused multiply-adds, so floor() and the one-sided grid
    gradient agree with the CPU."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 9))
    theta = np.tile(np.eye(2, 3), (2, 1, 1))
    grid = F.affine_grid(Tensor(theta.astype(dtype)), (2, 3, 6, 9), align_corners).numpy().astype(np.float64)
    grid[1] = np.round(grid[1] * 4) / 4  # quarter steps: corners, midpoints, 0 and +-1
    g = rng.standard_normal((2, 3, 6, 9))
    _same_as_cpu(lambda x, grid: F.grid_sample(x, grid, align_corners), [x, grid], g, dtype)


def test_grid_sample_non_contiguous_inputs():
    import cupy as cp
    rng = np.random.default_rng(3)
    x, grid = rng.standard_normal((2, 3, 5, 4)), rng.uniform(-1.2, 1.2, (2, 3, 3, 2))
    g = rng.standard_normal((2, 3, 3, 3))
    views = [lambda d: cp.ascontiguousarray(d.swapaxes(2, 3)).swapaxes(2, 3),
             lambda d: cp.repeat(d, 2, axis=1)[:, ::2]]
    _same_as_cpu(F.grid_sample, [x, grid], g, np.float64, views)


def test_grid_sample_forward_is_deterministic():
    rng = np.random.default_rng(4)
    x = Tensor(to_device(rng.standard_normal((2, 8, 33, 35)).astype(np.float32), "cuda"))
    grid = Tensor(to_device(rng.uniform(-1, 1, (2, 40, 41, 2)).astype(np.float32), "cuda"))
    np.testing.assert_array_equal(F.grid_sample(x, grid).numpy(), F.grid_sample(x, grid).numpy())


# ---- interpolate ---------------------------------------------------------------------------

RESIZES = [  # (x shape, interpolate keywords)
    ((1, 1, 3, 4), dict(size=(7, 9), mode="bilinear")),
    ((2, 3, 7, 5), dict(size=(3, 2), mode="bilinear")),
    ((1, 2, 5, 6), dict(scale_factor=(1.5, 0.5), mode="bilinear")),
    ((1, 1, 3, 4), dict(size=(7, 9), mode="bilinear", align_corners=True)),
    ((2, 3, 7, 5), dict(size=(3, 2), mode="bilinear", align_corners=True)),
    ((1, 2, 1, 5), dict(size=(4, 1), mode="bilinear", align_corners=True)),
    ((2, 8, 64, 48), dict(scale_factor=2, mode="bilinear")),
    ((2, 8, 64, 48), dict(size=(37, 23), mode="bilinear", align_corners=True)),
    ((2, 3, 7, 5), dict(size=(3, 11))),
    ((1, 4, 30, 40), dict(scale_factor=2)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, kwargs", RESIZES, ids=str)
def test_interpolate_matches_numpy_path(x_shape, kwargs, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(x_shape)
    g = rng.standard_normal(F.interpolate(Tensor(x), **kwargs).shape)
    _same_as_cpu(lambda t: F.interpolate(t, **kwargs), [x], g, dtype)


def test_interpolate_non_contiguous_input_and_deterministic_backward():
    import cupy as cp
    rng = np.random.default_rng(6)
    x, g = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((2, 2, 9, 11))
    view = [lambda d: cp.ascontiguousarray(d.swapaxes(2, 3)).swapaxes(2, 3)]
    fn = (lambda t: F.interpolate(t, size=(9, 11), mode="bilinear"))
    _same_as_cpu(fn, [x], g, np.float64, view)
    first, second = (_run(fn, [x.astype(np.float32)], g.astype(np.float32), "cuda")[1][0] for _ in range(2))
    np.testing.assert_array_equal(first, second)  # a gather: no atomics


# ---- gradients on the GPU and errors --------------------------------------------------------

@pytest.mark.parametrize("align_corners", [True, False])
def test_grid_sample_gradcheck_on_gpu(align_corners):
    rng = np.random.default_rng(7)
    # off the kinks: finite differences across a kink of the bilinear kernel would not match
    grid = rng.uniform(-1.2, 1.2, (2, 3, 2, 2))
    x = rng.standard_normal((2, 2, 4, 5))
    tensors = [Tensor(to_device(a, "cuda"), requires_grad=True) for a in (x, grid)]
    report = gradcheck(lambda x, grid: F.grid_sample(x, grid, align_corners), tensors, names=["x", "grid"])
    assert report.passed, report.summary()


@pytest.mark.parametrize("kwargs", [dict(size=(5, 7), mode="bilinear"), dict(size=(2, 3), mode="bilinear",
                                                                            align_corners=True)])
def test_interpolate_gradcheck_on_gpu(kwargs):
    x = Tensor(to_device(np.random.default_rng(8).standard_normal((1, 2, 4, 5)), "cuda"), requires_grad=True)
    report = gradcheck(lambda t: F.interpolate(t, **kwargs), [x])
    assert report.passed, report.summary()


def test_mixed_devices_are_refused():
    x = Tensor(to_device(np.zeros((1, 2, 4, 4)), "cuda"))
    with pytest.raises(ValueError, match="different devices"):
        F.grid_sample(x, Tensor(np.zeros((1, 3, 3, 2))))
