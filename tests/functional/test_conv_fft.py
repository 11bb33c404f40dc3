"""The FFT path of conv2d / conv_transpose2d (functional/conv_fft.py): which geometries take it, and
that it gives the GEMM path's results (values and all three gradients) on the same inputs. The loop
reference and the gradchecks of its cases live in test_conv.py."""
import numpy as np
import pytest

import minigen.functional as F
from minigen.functional import conv_fft
from minigen.functional.conv import _Geometry
from minigen.tensor import Tensor


def _geom(k, pad, stride=1, dilation=1, groups=1):
    return _Geometry((k, k), (stride, stride), (dilation, dilation), (pad, pad), groups)


@pytest.mark.parametrize("geom, in_hw, out_hw, taken", [
    (_geom(7, 3), (28, 28), (28, 28), True),      # the PixelCNN layer
    (_geom(9, 4), (64, 64), (64, 64), True),      # a transform net's first layer
    (_geom(5, 0), (12, 12), (8, 8), True),
    (_geom(3, 1), (28, 28), (28, 28), False),     # 3x3: the GEMM is cheaper
    (_geom(7, 0), (7, 7), (1, 1), False),         # one output pixel: a plain product
    (_geom(7, 3, stride=2), (28, 28), (14, 14), False),
    (_geom(7, 6, dilation=2), (28, 28), (28, 28), False),
    (_geom(7, 3, groups=2), (28, 28), (28, 28), False),
    (_geom(5, 5), (8, 8), (14, 14), False),       # padding beyond the kernel's reach
])
def test_which_geometries_take_it(geom, in_hw, out_hw, taken):
    assert conv_fft.suits(geom, in_hw, out_hw) is taken


def _run(op, x, w, b, g, params):
    xt, wt, bt = (Tensor(a, requires_grad=True) for a in (x, w, b))
    y = getattr(F, op)(xt, wt, bt, **params)
    (y * Tensor(g)).sum().backward()
    return y.data, xt.grad, wt.grad, bt.grad


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("op, x_shape, w_shape, params", [
    ("conv2d", (3, 4, 16, 13), (5, 4, 7, 7), dict(padding=3)),
    ("conv2d", (2, 3, 12, 12), (2, 3, 5, 5), dict()),
    ("conv2d", (2, 3, 10, 9), (4, 3, 5, 7), dict(padding=(0, 6))),
    ("conv_transpose2d", (2, 4, 9, 11), (4, 3, 9, 9), dict(padding=4)),
    ("conv_transpose2d", (1, 2, 6, 6), (2, 3, 5, 5), dict()),
])
def test_equals_the_gemm_path(op, x_shape, w_shape, params, dtype, rtol, monkeypatch):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[1] if op == "conv_transpose2d" else w_shape[0]).astype(dtype)
    g = rng.standard_normal(getattr(F, op)(Tensor(x), Tensor(w), **params).shape).astype(dtype)
    taken = []
    real = conv_fft.suits
    monkeypatch.setattr(conv_fft, "suits", lambda *a: taken.append(real(*a)) or taken[-1])
    fft = _run(op, x, w, b, g, params)
    assert taken and all(taken)  # every product of this case went through the FFT
    monkeypatch.setattr(conv_fft, "suits", lambda *a: False)
    gemm = _run(op, x, w, b, g, params)
    for name, a, e in zip(("y", "dx", "dw", "db"), fft, gemm):
        assert a.dtype == dtype, name
        scale = np.abs(e).max()
        assert np.abs(a - e).max() <= rtol * scale, name


def test_float32_is_deterministic():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 8, 28, 28), dtype=np.float32), rng.standard_normal((8, 8, 7, 7), dtype=np.float32)
    runs = [_run("conv2d", x, w, np.zeros(8, np.float32), x, dict(padding=3)) for _ in range(2)]
    for a, b in zip(*runs):
        assert np.array_equal(a, b)
