"""conv2d / conv_transpose2d kernels (kernels/conv.cu via minigen.cuda.conv) against the NumPy path:
every configuration of the CPU tests in float32 and float64, non-contiguous inputs, batch chunking,
partial gradients, a VGG-sized layer, a float64 finite-difference check on the GPU and the
mixed-device error. The chunking and index-limit arithmetic is checked without a GPU."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import minigen.functional as F
import minigen.functional.conv as conv_module
from minigen.backend import to_device
from minigen.cuda import INDEX_LIMIT
from minigen.cuda import conv as cuda_conv
from minigen.errors import MinigenError
from minigen.gradcheck import gradcheck
from minigen.tensor import Tensor


def _cpu_cases():
    """CASES of tests/functional/test_conv.py: the GPU runs exactly the configurations the CPU tests use."""
    path = Path(__file__).resolve().parents[1] / "functional" / "test_conv.py"
    spec = importlib.util.spec_from_file_location("_cpu_conv_cases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES, module.IDS


CASES, IDS = _cpu_cases()
TOL = {np.float32: 1e-4, np.float64: 1e-10}


def _problem(index, batch=None, seed=0):
    """Random x, w, b (or None) and an upstream gradient g for CASES[index], float64."""
    op, x_shape, w_shape, bias, params = CASES[index]
    if batch is not None:
        x_shape = (batch,) + x_shape[1:]
    rng = np.random.default_rng(100 + index + seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out_channels = w_shape[0] if op == "conv2d" else w_shape[1] * params.get("groups", 1)
    b = rng.standard_normal(out_channels) if bias else None
    y_shape = getattr(F, op)(Tensor(x), Tensor(w), None, **params).shape
    return op, params, x, w, b, rng.standard_normal(y_shape)


def _run(op, params, arrays, g, device, requires=(True, True, True)):
    """Forward and backward on `device`; output and gradients as NumPy arrays (None where not asked)."""
    leaves = [None if a is None else Tensor(to_device(a, device), requires_grad=r) for a, r in zip(arrays, requires)]
    y = getattr(F, op)(*leaves, **params)
    assert y.device == device
    y.backward(to_device(g, device))
    return y.numpy(), [None if t is None or t.grad is None else to_device(t.grad, "cpu") for t in leaves]


def _close(actual, expected, dtype):
    assert actual.dtype == dtype and actual.shape == expected.shape
    tol = TOL[dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(1.0, float(np.abs(expected).max())))


def _same_as_cpu(op, params, arrays, g, dtype, device_arrays=None, requires=(True, True, True)):
    """The GPU result (of device_arrays, default: arrays moved to the GPU) equals the NumPy path's."""
    arrays = [None if a is None else a.astype(dtype) for a in arrays]
    g = g.astype(dtype)
    y_cpu, grads_cpu = _run(op, params, arrays, g, "cpu", requires)
    y_gpu, grads_gpu = _run(op, params, device_arrays or arrays, g, "cuda", requires)
    _close(y_gpu, y_cpu, dtype)
    for got, expected in zip(grads_gpu, grads_cpu):
        assert (got is None) == (expected is None)
        if got is not None:
            _close(got, expected, dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_matches_numpy_path(index, dtype):
    op, params, x, w, b, g = _problem(index)
    _same_as_cpu(op, params, [x, w, b], g, dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("index", [0, 2, 5, len(CASES) - 6, len(CASES) - 4], ids=lambda i: IDS[i])
def test_batch_one_and_odd_batch(index):
    for batch in (1, 3):
        op, params, x, w, b, g = _problem(index, batch=batch)
        _same_as_cpu(op, params, [x, w, b], g, np.float64)


def _gpu_views(arrays, layout):
    """The arrays on the GPU as non-contiguous views with the same values."""
    import cupy as cp
    views = []
    for a in arrays:
        if a is None or a.ndim < 2:
            views.append(None if a is None else cp.asarray(a))
            continue
        d = cp.asarray(a)
        if layout == "transposed":
            v = cp.ascontiguousarray(d.transpose(3, 2, 1, 0)).transpose(3, 2, 1, 0)
        elif layout == "reversed":
            v = d[::-1, :, ::-1].copy()[::-1, :, ::-1]
        else:
            v = cp.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
            v[..., ::2] = d
            v = v[..., ::2]
        assert not v.flags.c_contiguous
        views.append(v)
    return views


@pytest.mark.gpu
@pytest.mark.parametrize("layout", ["transposed", "reversed", "strided"])
@pytest.mark.parametrize("index", [0, 3, 6, len(CASES) - 9, len(CASES) - 6], ids=lambda i: IDS[i])
def test_non_contiguous_inputs(index, layout):
    op, params, x, w, b, g = _problem(index)
    _same_as_cpu(op, params, [x, w, b], g, np.float64, device_arrays=_gpu_views([x, w, b], layout))


@pytest.mark.gpu
@pytest.mark.parametrize("index", [0, 2, len(CASES) - 9, len(CASES) - 6], ids=lambda i: IDS[i])
@pytest.mark.parametrize("requires", [(True, False, False), (False, True, False), (False, False, True)])
def test_partial_gradients(index, requires):
    op, params, x, w, b, g = _problem(index)
    b = np.zeros(g.shape[1]) if b is None else b
    _same_as_cpu(op, params, [x, w, b], g, np.float64, requires=requires)


@pytest.mark.gpu
@pytest.mark.parametrize("index", [0, 2, 5, len(CASES) - 6, len(CASES) - 4], ids=lambda i: IDS[i])
def test_batch_chunking(index, monkeypatch):
    """A column limit of one byte (one image per chunk) or of a few images changes no result."""
    op, params, x, w, b, g = _problem(index, batch=5)
    whole = _run(op, params, [x, w, b], g, "cuda")
    for limit in (1, 3 * 2**10):
        monkeypatch.setattr(conv_module, "GPU_COLUMN_LIMIT_BYTES", limit)
        chunked = _run(op, params, [x, w, b], g, "cuda")
        np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-12, atol=1e-12)
        for got, expected in zip(chunked[1], whole[1]):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.gpu
@pytest.mark.parametrize("op, x_shape, w_shape, params", [
    ("conv2d", (2, 64, 48, 40), (128, 64, 3, 3), dict(padding=1)),
    ("conv2d", (1, 32, 65, 63), (32, 32, 3, 3), dict(stride=2, padding=1)),
    ("conv_transpose2d", (2, 32, 33, 31), (32, 16, 4, 4), dict(stride=2, padding=1)),
])
def test_vgg_sized_layers_float32(op, x_shape, w_shape, params):
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape) * 0.05, rng.standard_normal(w_shape[0])
    b = b if op == "conv2d" else rng.standard_normal(w_shape[1])
    g = rng.standard_normal(getattr(F, op)(Tensor(x), Tensor(w), None, **params).shape)
    _same_as_cpu(op, params, [x, w, b], g, np.float32)


@pytest.mark.gpu
@pytest.mark.parametrize("op, x_shape, w_shape, params", [
    ("conv2d", (2, 4, 5, 6), (4, 2, 3, 3), dict(stride=2, padding=1, dilation=(1, 2), groups=2)),
    ("conv_transpose2d", (1, 4, 3, 4), (4, 1, 3, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
])
def test_gradcheck_on_gpu(op, x_shape, w_shape, params):
    rng = np.random.default_rng(11)
    out_channels = w_shape[0] if op == "conv2d" else w_shape[1] * params["groups"]
    tensors = [Tensor(to_device(rng.standard_normal(s), "cuda"), requires_grad=True)
               for s in (x_shape, w_shape, (out_channels,))]
    report = gradcheck(lambda x, w, b: getattr(F, op)(x, w, b, **params), tensors, names=["x", "w", "b"])
    assert report.passed, report.summary()
    assert {"Conv2d", "ConvTranspose2d"} & {f.__name__ for f in report.functions}


@pytest.mark.gpu
def test_mixed_devices_are_refused():
    x = Tensor(to_device(np.zeros((1, 2, 4, 4)), "cuda"))
    with pytest.raises(ValueError, match="different devices"):
        F.conv2d(x, Tensor(np.zeros((3, 2, 3, 3))))


# ---- without a GPU: chunk sizes and the 32-bit index limit ---------------------------------

def test_chunks_respect_the_column_limit():
    assert cuda_conv._chunks(5, 100, 10, 4, 1) == [(i, i + 1) for i in range(5)]
    assert cuda_conv._chunks(5, 100, 10, 4, 800) == [(0, 2), (2, 4), (4, 5)]
    assert cuda_conv._chunks(3, 100, 10, 8, 10**9) == [(0, 3)]


def test_chunks_respect_the_index_limit():
    per_image = INDEX_LIMIT // 3 + 1  # three images would pass 2^31 elements
    assert cuda_conv._chunks(4, per_image, 1, 4, 2**62) == [(0, 2), (2, 4)]
    assert cuda_conv._chunks(4, 1, per_image, 4, 2**62) == [(0, 2), (2, 4)]


def test_an_image_beyond_the_index_limit_is_refused():
    with pytest.raises(MinigenError, match=r"column buffer of 2147483648 elements \(8.0 GiB\)"):
        cuda_conv._chunks(1, 2**31, 1, 4, 2**62)
