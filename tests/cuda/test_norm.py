"""Batch and instance norm kernels (kernels/norm.cu via minigen.cuda.norm) against the NumPy path:
float32 and float64, odd sizes, batch 1, 1x1 spatial, large H x W and large batch statistics
(several blocks per group), running statistics, eval mode, non-contiguous inputs, AdaIN and
conditional instance norm on top, a float64 finite-difference check on the GPU."""
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


def _run(fn, arrays, g, device, view=None):
    """fn on leaves made from arrays (all requiring grad), backward with g; host copies of the
    output and the gradients. view(array) may replace the first array's device layout."""
    leaves = []
    for i, a in enumerate(arrays):
        if a is None:
            leaves.append(None)
            continue
        d = to_device(a, device)
        leaves.append(Tensor(view(d) if view is not None and i == 0 else d, requires_grad=True))
    y = fn(*leaves)
    y.backward(to_device(g, device))
    return y.numpy(), [None if t is None else to_device(t.grad, "cpu") for t in leaves]


def _same_as_cpu(fn_on, arrays, g, dtype, view=None):
    """fn_on(device) gives the op for that device; its output and gradients on the GPU equal the CPU's."""
    arrays = [None if a is None else a.astype(dtype) for a in arrays]
    y_cpu, grads_cpu = _run(fn_on("cpu"), arrays, g.astype(dtype), "cpu")
    y_gpu, grads_gpu = _run(fn_on("cuda"), arrays, g.astype(dtype), "cuda", view)
    _close(y_gpu, y_cpu, dtype)
    for got, expected in zip(grads_gpu, grads_cpu):
        if expected is not None:
            _close(got, expected, dtype)


SHAPES = [
    (3, 4, 5, 3),       # odd sizes
    (1, 3, 2, 5),       # batch 1
    (4, 5, 1, 1),       # 1 x 1 spatial
    (2, 3, 7),          # (N, C, L)
    (2, 3, 181, 173),   # large H x W: many elements per group
    (16, 2, 64, 64),    # few channels, large batch: several blocks per channel
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape", SHAPES + [(6, 3)], ids=str)
def test_batch_norm_matches_numpy_path(shape, affine, training, dtype):
    rng = np.random.default_rng(1)
    c = shape[1]
    x, g = rng.standard_normal(shape) * 2 + 3, rng.standard_normal(shape)
    w, b = (rng.uniform(0.5, 1.5, c), rng.standard_normal(c)) if affine else (None, None)
    start = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    running = {}

    def fn_on(device):
        running[device] = [to_device(a.astype(dtype), device) for a in start]
        return lambda x, w, b: F.batch_norm(x, *running[device], w, b, training=training, momentum=0.3)

    _same_as_cpu(fn_on, [x, w, b], g, dtype)
    for got, expected in zip(running["cuda"], running["cpu"]):
        _close(to_device(got, "cpu"), expected, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape", [s for s in SHAPES if len(s) > 2 and s[2:] != (1, 1)] + [(2, 3, 1, 1)], ids=str)
def test_instance_norm_matches_numpy_path(shape, affine, dtype):
    rng = np.random.default_rng(2)
    c = shape[1]
    x, g = rng.standard_normal(shape) - 4, rng.standard_normal(shape)
    w, b = (rng.uniform(0.5, 1.5, c), rng.standard_normal(c)) if affine else (None, None)
    _same_as_cpu(lambda device: F.instance_norm, [x, w, b], g, dtype)


@pytest.mark.parametrize("layout", ["transposed", "strided"])
@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_non_contiguous_input(norm, layout):
    import cupy as cp
    rng = np.random.default_rng(3)
    x, g = rng.standard_normal((3, 4, 6, 5)), rng.standard_normal((3, 4, 6, 5))
    w, b = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)

    def view(d):
        v = (cp.ascontiguousarray(d.swapaxes(2, 3)).swapaxes(2, 3) if layout == "transposed"
             else d.repeat(2, axis=3)[..., ::2])
        assert not v.flags.c_contiguous
        return v

    def fn_on(device):
        if norm == "instance":
            return F.instance_norm
        running = [to_device(a, device) for a in (np.zeros(4), np.ones(4))]
        return lambda x, w, b: F.batch_norm(x, *running, w, b, training=True)

    _same_as_cpu(fn_on, [x, w, b], g, np.float64, view=view)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_offset(dtype):
    """A mean far from zero (1e4) and a small spread still normalise: one-pass Welford, no cancellation."""
    rng = np.random.default_rng(4)
    x = (1e4 + rng.standard_normal((2, 3, 40, 30))).astype(dtype)
    y = F.instance_norm(Tensor(to_device(x, "cuda"))).numpy()
    flat = y.reshape(6, -1).astype(np.float64)
    # float32 holds 1e4 to ~1e-3: E[x^2] - E[x]^2 would lose the variance (~1) entirely
    np.testing.assert_allclose(flat.mean(axis=1), 0, atol=1e-2)
    np.testing.assert_allclose(flat.std(axis=1), 1, atol=1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("style_batch", [1, 3])
def test_adain_matches_numpy_path(style_batch, dtype):
    rng = np.random.default_rng(5)
    content, style = rng.standard_normal((3, 4, 9, 7)), rng.standard_normal((style_batch, 4, 5, 6)) * 3 + 1
    g = rng.standard_normal(content.shape)
    _same_as_cpu(lambda device: F.adain, [content, style], g, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conditional_instance_norm_matches_numpy_path(dtype):
    rng = np.random.default_rng(6)
    x, gamma, beta = rng.standard_normal((3, 4, 5, 6)), rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    g = rng.standard_normal(x.shape)

    def fn_on(device):
        styles = to_device(np.array([4, 0, 4]), device)
        return lambda x, gamma, beta: F.conditional_instance_norm(x, gamma, beta, styles)

    _same_as_cpu(fn_on, [x, gamma, beta], g, dtype)


@pytest.mark.parametrize("name, fn, shapes", [
    ("batch_norm/train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(3, 2, 3, 2), (2,), (2,)]),
    ("instance_norm", F.instance_norm, [(2, 3, 4, 3), (3,), (3,)]),
    ("adain", F.adain, [(2, 2, 4, 3), (1, 2, 3, 5)]),
])
def test_gradcheck_on_gpu(name, fn, shapes):
    rng = np.random.default_rng(7)
    tensors = [Tensor(to_device(rng.standard_normal(s) + (1.0 if len(s) == 1 else 0.0), "cuda"), requires_grad=True)
               for s in shapes]
    report = gradcheck(fn, tensors)
    assert report.passed, f"{name}: {report.summary()}"
    assert "Normalize" in {f.__name__ for f in report.functions}


def test_eval_mode_with_running_statistics_on_the_gpu():
    """Eval uses the running statistics, which stay unchanged."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4, 4))
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    rm, rv = to_device(mean, "cuda"), to_device(var, "cuda")
    y = F.batch_norm(Tensor(to_device(x, "cuda")), rm, rv, training=False).numpy()
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(to_device(rm, "cpu"), mean)
    np.testing.assert_array_equal(to_device(rv, "cpu"), var)


def test_mixed_devices_are_refused():
    x = Tensor(to_device(np.zeros((2, 3, 4, 4)), "cuda"))
    with pytest.raises(ValueError, match="different devices"):
        F.instance_norm(x, Tensor(np.ones(3)))
