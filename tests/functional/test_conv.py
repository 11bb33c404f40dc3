"""conv2d and conv_transpose2d: the GEMM path against the loop reference (minigen.reference.conv),
the adjoint identity, batch chunking, the gradcheck cases and argument errors."""
import functools

import numpy as np
import pytest

import minigen.functional as F
import minigen.functional.conv as conv_module
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.reference import conv as ref
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]

# (x shape, w shape, bias, params). conv2d weights are (C_out, C_in/groups, kH, kW).
# Unit stride runs the gather adjoint (padding below, equal to and beyond the kernel
# reach), other strides the tap scatter; plus dilation, groups, depthwise, 1x1,
# rectangular kernels, odd sizes, batch 1 and leftover rows that no window reaches.
CONV = [
    ((2, 3, 5, 6), (4, 3, 3, 3), True, dict(padding=1)),
    ((1, 2, 7, 5), (3, 2, 3, 3), False, dict()),
    ((2, 4, 7, 6), (3, 4, 3, 2), True, dict(stride=2, padding=(1, 0))),
    ((1, 2, 9, 8), (2, 2, 3, 3), True, dict(stride=(2, 3), padding=2)),
    ((2, 2, 8, 7), (3, 2, 3, 2), False, dict(dilation=2, padding=(2, 1))),
    ((1, 4, 9, 7), (4, 2, 2, 3), True, dict(stride=2, dilation=(2, 1), groups=2)),
    ((2, 6, 5, 5), (6, 2, 3, 3), True, dict(padding=1, groups=3)),
    ((2, 3, 6, 5), (6, 1, 3, 3), False, dict(padding=1, groups=3)),  # depthwise, multiplier 2
    ((1, 3, 4, 5), (2, 3, 1, 1), True, dict(padding=1)),  # padding beyond the reach: crops
    ((3, 2, 6, 6), (2, 2, 1, 1), False, dict(stride=2)),
    ((1, 1, 3, 3), (1, 1, 3, 3), True, dict()),  # a single output pixel
    ((2, 2, 9, 7), (2, 2, 2, 3), True, dict(stride=3, padding=(0, 2), dilation=(1, 2))),
    ((2, 3, 8, 8), (4, 3, 5, 5), True, dict(padding=2)),  # the FFT path (functional/conv_fft.py)
    ((1, 2, 9, 7), (3, 2, 5, 6), False, dict(padding=(4, 1))),  # FFT, rectangular, uneven padding
]

# conv_transpose2d weights are (C_in, C_out/groups, kH, kW).
TRANSPOSED = [
    ((2, 3, 4, 5), (3, 2, 3, 3), True, dict(padding=1)),
    ((1, 2, 3, 3), (2, 3, 3, 3), False, dict()),
    ((2, 4, 3, 4), (4, 3, 4, 4), True, dict(stride=2, padding=1)),
    ((1, 2, 3, 4), (2, 2, 3, 3), True, dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 3, 5), (4, 2, 3, 3), False, dict(groups=2, dilation=2, output_padding=1)),
    ((2, 6, 3, 3), (6, 1, 2, 3), True, dict(stride=(3, 2), padding=(0, 1), output_padding=(2, 1),
                                            groups=3)),
    ((1, 2, 6, 6), (2, 2, 3, 3), False, dict(padding=3)),  # padding beyond the reach: crops
    ((1, 3, 4, 3), (3, 2, 1, 1), True, dict(stride=2, output_padding=1)),
    ((2, 2, 4, 3), (2, 2, 2, 3), True, dict(stride=2, dilation=(2, 1), padding=(1, 0))),
    ((2, 3, 6, 6), (3, 4, 5, 5), True, dict(padding=2)),  # the FFT path
]

CASES = [("conv2d",) + c for c in CONV] + [("conv_transpose2d",) + c for c in TRANSPOSED]
IDS = [f"{op}-{i}" for op, configs in (("conv2d", CONV), ("conv_transpose2d", TRANSPOSED))
       for i in range(len(configs))]


@functools.lru_cache(maxsize=None)
def _problem(index):
    """Inputs, upstream gradient and reference results of CASES[index] (float64, computed once)."""
    op, x_shape, w_shape, bias, params = CASES[index]
    rng = np.random.default_rng(index)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    out_channels = w_shape[0] if op == "conv2d" else w_shape[1] * params.get("groups", 1)
    b = rng.standard_normal(out_channels) if bias else None
    y = getattr(ref, op)(x, w, b, **params)
    g = rng.standard_normal(y.shape)
    return x, w, b, g, (y, getattr(ref, op + "_backward")(x, w, g, **params))


def _non_contiguous(a, layout):
    """The same values as a, laid out as a transposed, reversed (negative strides) or strided view."""
    if layout == "transposed":
        view = np.ascontiguousarray(a.transpose(3, 2, 1, 0)).transpose(3, 2, 1, 0)
    elif layout == "reversed":
        view = a[::-1, :, ::-1].copy()[::-1, :, ::-1]
    else:
        base = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
        base[..., ::2] = a
        view = base[..., ::2]
    assert not view.flags.c_contiguous and np.array_equal(view, a)
    return view


def _run(op, x, w, b, g, params, device, requires=(True, True, True)):
    """op forward and backward on `device`: output and gradients as NumPy arrays (None if not asked)."""
    def leaf(a, grad):
        return None if a is None else Tensor(to_device(a, device), requires_grad=grad)
    tx, tw, tb = leaf(x, requires[0]), leaf(w, requires[1]), leaf(b, requires[2])
    y = getattr(F, op)(tx, tw, tb, **params)
    y.backward(to_device(g, device))
    grads = [None if t is None or t.grad is None else to_device(t.grad, "cpu") for t in (tx, tw, tb)]
    return y.numpy(), grads


def _tol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-10


def _close(actual, expected, dtype):
    assert actual.dtype == dtype and actual.shape == expected.shape
    tol = _tol(dtype)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(1.0, np.abs(expected).max()))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_matches_reference(index, dtype, device, threads):
    op, params = CASES[index][0], CASES[index][4]
    x, w, b, g, (y_ref, grads_ref) = _problem(index)
    cast = (lambda a: None if a is None else a.astype(dtype))
    y, grads = _run(op, cast(x), cast(w), cast(b), cast(g), params, device)
    _close(y, y_ref, dtype)
    for given, got, expected in zip((x, w, b), grads, grads_ref):
        if given is None:
            assert got is None
        else:
            _close(got, expected, dtype)


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_per_image_gemms_match_reference(index, monkeypatch):
    """The test images are all below PER_IMAGE_MIN_PIXELS (one GEMM per chunk); here every output,
    however small, takes the per-image GEMMs of larger images."""
    monkeypatch.setattr(conv_module, "PER_IMAGE_MIN_PIXELS", 1)
    op, params = CASES[index][0], CASES[index][4]
    x, w, b, g, (y_ref, grads_ref) = _problem(index)
    y, grads = _run(op, x, w, b, g, params, "cpu")
    _close(y, y_ref, np.float64)
    for given, got, expected in zip((x, w, b), grads, grads_ref):
        if given is not None:
            _close(got, expected, np.float64)

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("layout", ["transposed", "reversed", "strided"])
@pytest.mark.parametrize("index", [0, 3, 6, len(CONV), len(CONV) + 2, len(CONV) + 4],
                         ids=lambda i: IDS[i])
def test_non_contiguous_inputs(index, layout, device, threads):
    op, params = CASES[index][0], CASES[index][4]
    x, w, b, g, (y_ref, grads_ref) = _problem(index)
    y, grads = _run(op, _non_contiguous(x, layout), _non_contiguous(w, layout), b,
                    _non_contiguous(g, layout), params, device)
    _close(y, y_ref, np.float64)
    for got, expected in zip(grads, grads_ref):
        if got is not None:
            _close(got, expected, np.float64)


@pytest.mark.parametrize("index", [0, 2, len(CONV), len(CONV) + 2], ids=lambda i: IDS[i])
@pytest.mark.parametrize("requires", [(True, False, False), (False, True, False), (False, False, True)])
def test_partial_gradients(index, requires):
    """Only the gradients asked for are computed, and they match those computed together."""
    op, params = CASES[index][0], CASES[index][4]
    x, w, b, g, (_, grads_ref) = _problem(index)
    _, grads = _run(op, x, w, b, g, params, "cpu", requires)
    for want, got, expected in zip(requires, grads, grads_ref):
        if want:
            _close(got, expected, np.float64)
        else:
            assert got is None


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, w_shape, params", [
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(padding=1)),
    ((3, 4, 9, 8), (6, 2, 3, 2), dict(stride=2, padding=(1, 0), groups=2)),
    ((1, 3, 11, 8), (2, 3, 3, 3), dict(stride=3, dilation=2, padding=2)),
    ((2, 6, 7, 7), (6, 1, 4, 4), dict(stride=2, padding=1, groups=6)),
])
def test_adjoint_identity(shape, w_shape, params, dtype, device):
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for every x, y: the two ops are adjoint."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    cx = F.conv2d(Tensor(to_device(x, device)), Tensor(to_device(w, device)), **params).numpy()
    y = rng.standard_normal(cx.shape).astype(dtype)
    # output_padding recovers the input rows that the strided conv2d never reached
    axes = zip(shape[2:], w_shape[2:], *(np.broadcast_to(params.get(k, v), 2) for k, v in
                                         (("stride", 1), ("padding", 0), ("dilation", 1))))
    extra = tuple(int((h + 2 * p - d * (k - 1) - 1) % s) for h, k, s, p, d in axes)
    ty = F.conv_transpose2d(Tensor(to_device(y, device)), Tensor(to_device(w, device)),
                            output_padding=extra, **params).numpy()
    assert ty.shape == x.shape and ty.dtype == dtype
    lhs, rhs = float((cx.astype(np.float64) * y).sum()), float((x.astype(np.float64) * ty).sum())
    scale = float(np.abs(cx).sum() * np.abs(y).max())
    assert abs(lhs - rhs) <= _tol(dtype) * scale


@pytest.mark.parametrize("index", [0, 2, 5, len(CONV) + 2, len(CONV) + 5], ids=lambda i: IDS[i])
def test_batch_chunking(index, monkeypatch):
    """A small column limit splits the batch into chunks without changing any result."""
    op, x_shape, w_shape, bias, params = CASES[index]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5,) + x_shape[1:])
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0] if op == "conv2d" else w_shape[1] * params.get("groups", 1))
    g = rng.standard_normal(getattr(F, op)(Tensor(x), Tensor(w), **params).shape)
    calls = []  # (column bytes per image, number of chunks) of every chunked loop, forward first
    real_chunks = conv_module._chunks

    def counting(n, per_image):
        chunks = real_chunks(n, per_image)
        calls.append((per_image, len(chunks)))
        return chunks
    monkeypatch.setattr(conv_module, "_chunks", counting)
    whole_y, whole_grads = _run(op, x, w, b, g, params, "cpu")
    forward_bytes = calls[0][0]
    # one image per chunk; then two images per forward chunk and one left over
    for limit, forward_chunks in ((1, 5), (2 * forward_bytes, 3)):
        monkeypatch.setattr(conv_module, "COLUMN_LIMIT_BYTES", limit)
        calls.clear()
        y, grads = _run(op, x, w, b, g, params, "cpu")
        assert calls[0][1] == forward_chunks and all(n > 1 for _, n in calls)
        np.testing.assert_allclose(y, whole_y, rtol=1e-12, atol=1e-12)
        for got, expected in zip(grads, whole_grads):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("index", [0, 3, len(CONV) + 2, len(CONV) + 6], ids=lambda i: IDS[i])
def test_workspace_reuse_leaks_nothing(index):
    """Scratch arrays left full of NaN by an earlier call do not reach the next result."""
    op, params = CASES[index][0], CASES[index][4]
    x, w, b, g, (y_ref, grads_ref) = _problem(index)
    conv_module.clear_workspace()
    poison = np.full_like(x, np.nan)
    _run(op, poison, np.full_like(w, np.nan), b, np.full_like(g, np.nan), params, "cpu")
    assert vars(conv_module._workspaces)  # the poisoned scratch arrays are kept for reuse
    y, grads = _run(op, x, w, b, g, params, "cpu")
    _close(y, y_ref, np.float64)
    for got, expected in zip(grads, grads_ref):
        if got is not None:
            _close(got, expected, np.float64)
    conv_module.clear_workspace()
    assert not vars(conv_module._workspaces)


def test_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((2, 3, 6, 6)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 4, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(4, np.float32), requires_grad=True)
    v = Tensor(rng.standard_normal((3, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv_transpose2d(F.conv2d(x, v, b[:3], stride=2, padding=1), w, b, stride=2)
    y.backward(np.ones(y.shape, np.float32))
    assert {t.dtype for t in (y, x.grad, v.grad, w.grad, b.grad)} == {np.dtype(np.float32)}


@pytest.mark.parametrize("c", G.select("conv2d") + G.select("conv_transpose2d"), ids=lambda c: c.name)
def test_gradcheck_cases(c):
    report = G.run(c)
    assert report.passed, report.summary()
    assert {"Conv2d", "ConvTranspose2d"} & {f.__name__ for f in report.functions}


def _t(*shape):
    return Tensor(np.zeros(shape))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(_t(2, 3, 5), _t(4, 3, 3, 3)), ValueError, "input must be 4-D"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3)), ValueError, "weight must be 4-D"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 2, 3, 3)), ValueError, "does not fit 3 input channels"),
    (lambda: F.conv2d(_t(2, 4, 5, 5), _t(4, 4, 3, 3), groups=2), ValueError, "does not fit 4 input"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 1, 3, 3), groups=2), ValueError, "not divisible by groups=2"),
    (lambda: F.conv2d(_t(2, 4, 5, 5), _t(3, 2, 3, 3), groups=2), ValueError, "output channels 3"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), groups=0), ValueError, "groups must be >= 1"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), _t(3)), ValueError, "bias must have shape (4,)"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 0, 3)), ValueError, "no empty axis"),
    (lambda: F.conv2d(_t(2, 3, 2, 5), _t(4, 3, 3, 3)), ValueError, "output size (0, 3)"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), dilation=3), ValueError, "is empty"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), stride=0), ValueError, "stride must be >= 1"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), padding=(1, -1)), ValueError, "padding must be >= 0"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), stride=(1, 2, 3)), TypeError, "int or a pair"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), padding=1.5), TypeError, "int or a pair"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), _t(4, 3, 3, 3), groups=True), TypeError, "groups must be an int,"),
    (lambda: F.conv2d(_t(2, 3, 5, 5), Tensor(np.zeros((4, 3, 3, 3), np.float32))), TypeError, "dtypes"),
    (lambda: F.conv_transpose2d(_t(2, 3, 5, 5), _t(4, 2, 3, 3)), ValueError, "does not fit 3 input"),
    (lambda: F.conv_transpose2d(_t(2, 3, 5, 5), _t(3, 2, 3, 3), groups=2), ValueError,
     "not divisible by groups=2"),
    (lambda: F.conv_transpose2d(_t(2, 4, 5, 5), _t(4, 2, 3, 3), _t(2), groups=2), ValueError,
     "bias must have shape (4,)"),
    (lambda: F.conv_transpose2d(_t(2, 3, 5, 5), _t(3, 2, 3, 3), stride=2, output_padding=2), ValueError,
     "output_padding (2, 2) must be smaller than stride (2, 2) or dilation (1, 1)"),
    (lambda: F.conv_transpose2d(_t(2, 3, 5, 5), _t(3, 2, 3, 3), output_padding=(0, 1)), ValueError,
     "must be smaller than stride"),
    (lambda: F.conv_transpose2d(_t(2, 3, 1, 1), _t(3, 2, 1, 1), padding=1), ValueError, "is empty"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value) and "conv" in str(info.value).lower()
