"""Shape ops against NumPy.

Forward: the op equals the NumPy expression exactly (shape ops only move elements).
Backward: a shape op sends output element o to the input element src(o) it was
copied from, so dL/dx_i = sum of g_o over outputs with src(o) = i. src is found by
running the same NumPy expression on an array of element numbers, and the sum by
np.bincount: an independent reference for every op here, whatever its indexing.
"""
import numpy as np
import pytest

import minigen.functional as F
from minigen import gradcases as G
from minigen.backend import to_device
from minigen.tensor import Tensor

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]
DTYPES = [np.float32, np.float64]
LAYOUTS = ["contiguous", "transposed", "strided"]
OPS = ["reshape", "permute", "transpose", "expand", "concat", "stack", "split", "getitem", "flip", "pad"]


def _array(rng, shape, dtype, layout):
    """Random data of a shape, as a C-contiguous array or a non-contiguous view."""
    if layout == "transposed":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    if layout == "strided":
        return rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(dtype)[..., ::2]
    return rng.standard_normal(shape).astype(dtype)


def _tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)


def _as_tuple(out):
    return tuple(out) if isinstance(out, tuple) else (out,)


def check_routing(shapes, op, np_op, dtype, device, layout, rng):
    """op (minigen) == np_op (NumPy) forward, and backward == the routed-gradient reference."""
    arrays = [_array(rng, s, dtype, layout) for s in shapes]
    xs = [Tensor(to_device(a, device), requires_grad=True) for a in arrays]
    outs = _as_tuple(op(*xs))
    refs = _as_tuple(np_op(*arrays))
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert o.dtype == dtype and o.shape == r.shape
        np.testing.assert_array_equal(o.numpy(), r)

    weights = [rng.standard_normal(r.shape).astype(dtype) for r in refs]
    loss = None
    for o, w in zip(outs, weights):
        term = (o * Tensor(to_device(w, device))).sum()
        loss = term if loss is None else loss + term
    loss.backward()

    sizes = [int(np.prod(s)) for s in shapes]
    starts = np.cumsum([0] + sizes)
    numbers = [np.arange(lo, lo + n).reshape(s) for lo, n, s in zip(starts, sizes, shapes)]
    src = np.concatenate([s.reshape(-1) for s in _as_tuple(np_op(*numbers))])
    w = np.concatenate([w.reshape(-1) for w in weights]).astype(np.float64)
    expected = np.bincount(src, weights=w, minlength=starts[-1])
    for x, lo, hi, s in zip(xs, starts[:-1], starts[1:], shapes):
        assert x.grad.dtype == dtype and x.grad.shape == s
        np.testing.assert_allclose(to_device(x.grad, "cpu"), expected[lo:hi].reshape(s), **_tol(dtype))


INDEX_ROWS = np.array([[0, 2], [2, 4], [0, 0]])
MASK = np.random.default_rng(7).random((4, 3)) > 0.5

CASES = {
    "reshape-infer": ([(2, 3, 5)], lambda x: F.reshape(x, (5, -1, 1)), lambda a: a.reshape(5, -1, 1)),
    "reshape-batch1": ([(1, 7)], lambda x: x.reshape(7), lambda a: a.reshape(7)),
    "permute": ([(2, 3, 5)], lambda x: F.permute(x, (1, -1, 0)), lambda a: a.transpose(1, 2, 0)),
    "permute-method": ([(1, 3, 4, 2)], lambda x: x.permute(0, 3, 1, 2), lambda a: a.transpose(0, 3, 1, 2)),
    "transpose": ([(3, 1, 5)], lambda x: F.transpose(x, 0, 2), lambda a: a.swapaxes(0, 2)),
    "T": ([(2, 3, 5)], lambda x: x.T, lambda a: a.swapaxes(-1, -2)),
    "expand": ([(3, 1)], lambda x: F.expand(x, (2, -1, 5)), lambda a: np.broadcast_to(a, (2, 3, 5))),
    "expand-same": ([(4, 3)], lambda x: F.expand(x, (4, 3)), lambda a: a),
    "concat": ([(2, 1, 3), (2, 3, 3), (2, 2, 3)], lambda *x: F.concat(x, axis=1),
               lambda *a: np.concatenate(a, axis=1)),
    "concat-last": ([(1, 3, 2), (1, 3, 5)], lambda *x: F.concat(list(x), axis=-1),
                    lambda *a: np.concatenate(a, axis=-1)),
    "stack": ([(3, 2)] * 3, lambda *x: F.stack(x), lambda *a: np.stack(a)),
    "stack-last": ([(3, 5), (3, 5)], lambda *x: F.stack(x, axis=-1), lambda *a: np.stack(a, axis=-1)),
    "split-int": ([(7, 3)], lambda x: F.split(x, 3), lambda a: tuple(np.split(a, [3, 6]))),
    "split-sizes": ([(2, 7)], lambda x: F.split(x, [1, 0, 4, 2], axis=-1), lambda a: tuple(np.split(a, [1, 1, 5], 1))),
    "split-unused": ([(5, 4)], lambda x: F.split(x, 2, axis=0)[1], lambda a: a[2:4]),
    "getitem-basic": ([(4, 5, 3)], lambda x: x[1:, ::2, None, -1], lambda a: a[1:, ::2, None, -1]),
    "getitem-int": ([(4, 5)], lambda x: x[2, 3], lambda a: a[2, 3]),
    "getitem-negative-step": ([(5, 2, 4)], lambda x: F.getitem(x, (slice(None, None, -2), Ellipsis, slice(3, 0, -1))),
                              lambda a: a[::-2, ..., 3:0:-1]),
    "getitem-int-array-repeats": ([(5, 4)], lambda x: x[INDEX_ROWS, 1:3], lambda a: a[INDEX_ROWS, 1:3]),
    "getitem-list": ([(6, 3)], lambda x: x[[5, 0, 5, 5]], lambda a: a[[5, 0, 5, 5]]),
    "getitem-two-arrays": ([(3, 4, 2)], lambda x: x[[0, 2, 0], :, [1, 1, 1]], lambda a: a[[0, 2, 0], :, [1, 1, 1]]),
    "getitem-bool-mask": ([(2, 4, 3)], lambda x: x[..., MASK], lambda a: a[..., MASK]),
    "flip": ([(3, 4, 2)], lambda x: F.flip(x, (0, -1)), lambda a: np.flip(a, (0, 2))),
    "flip-one": ([(1, 5)], lambda x: F.flip(x, 1), lambda a: a[:, ::-1]),
    "pad-reflect-nchw": ([(1, 2, 4, 5)], lambda x: F.pad(x, (2, 4, 3, 1), mode="reflect"),
                         lambda a: np.pad(a, ((0, 0), (0, 0), (3, 1), (2, 4)), mode="reflect")),
    "pad-reflect-3d": ([(3, 4, 3)], lambda x: F.pad(x, (1, 0, 2, 1, 2, 2), mode="reflect"),
                       lambda a: np.pad(a, ((2, 2), (2, 1), (1, 0)), mode="reflect")),
    "pad-reflect-w-only": ([(2, 7)], lambda x: F.pad(x, (6, 3), mode="reflect"),
                           lambda a: np.pad(a, ((0, 0), (6, 3)), mode="reflect")),
    "pad-replicate": ([(2, 3, 4)], lambda x: F.pad(x, (2, 1, 1, 3), mode="replicate"),
                      lambda a: np.pad(a, ((0, 0), (1, 3), (2, 1)), mode="edge")),
    "pad-replicate-size1": ([(1, 1, 1, 3)], lambda x: F.pad(x, (0, 2, 3, 2), mode="replicate"),
                            lambda a: np.pad(a, ((0, 0), (0, 0), (3, 2), (0, 2)), mode="edge")),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_numpy(name, layout, dtype, device, rng):
    shapes, op, np_op = CASES[name]
    check_routing(shapes, op, np_op, dtype, device, layout, rng)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_pad(dtype, device, rng):
    a = _array(rng, (1, 3, 2, 5), dtype, "transposed")
    x = Tensor(to_device(a, device), requires_grad=True)
    y = F.pad(x, (1, 2, 0, 3), value=-1.5)
    np.testing.assert_array_equal(y.numpy(), np.pad(a, ((0, 0), (0, 0), (0, 3), (1, 2)), constant_values=-1.5))
    assert y.dtype == dtype
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(to_device(g, device))
    np.testing.assert_array_equal(to_device(x.grad, "cpu"), g[:, :, 0:2, 1:6])


def test_split_returns_views_and_a_tuple():
    x = Tensor(np.arange(10.0))
    pieces = F.split(x, 4)
    assert isinstance(pieces, tuple) and [p.shape for p in pieces] == [(4,), (4,), (2,)]
    assert len(F.split(x, [10])) == 1


def test_iteration_stops_at_index_error():
    x = Tensor(np.arange(6.0).reshape(3, 2))
    assert [row.shape for row in x] == [(2,)] * 3  # Python iteration relies on IndexError from getitem
    with pytest.raises(IndexError):
        x[3]


def test_index_tensor_and_empty_list():
    x = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    np.testing.assert_array_equal(x[Tensor(np.array([3, 1]))].data, x.data[[3, 1]])
    y = x[[]]
    assert y.shape == (0, 3)
    (y.sum() + x[0, 0]).backward()
    assert x.grad[0, 0] == 1 and x.grad.sum() == 1


def test_gradient_accumulates_over_two_indexings_of_one_tensor():
    x = Tensor(np.arange(5.0), requires_grad=True)
    (x[1:3].sum() + x[[1, 1, 4]].sum()).backward()
    np.testing.assert_array_equal(x.grad, [0, 3, 1, 0, 1])


CASE_NAMES = [c.name for op in OPS for c in G.select(op)]


def test_every_op_has_gradcheck_cases():
    assert {name.split("/")[0] for name in CASE_NAMES} == set(OPS)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_gradcheck(name):
    report = G.run(G.CASES[name])
    assert report.passed, report.summary()


X = Tensor(np.zeros((2, 3, 4), np.float32))


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.reshape(X, (5, -1)), ValueError, "reshape: cannot view 24"),
    (lambda: F.reshape(X, (-1, -1)), ValueError, "at most one -1"),
    (lambda: F.permute(X, (0, 1)), ValueError, "permute: .* is not a permutation"),
    (lambda: F.permute(X, (0, 1, 1)), ValueError, "not a permutation"),
    (lambda: F.transpose(X, 0, 3), ValueError, "transpose: axis 3 is out of range"),
    (lambda: F.expand(X, (2, 5, 4)), ValueError, "expand: cannot broadcast"),
    (lambda: F.expand(X, (3, 4)), ValueError, "expand: cannot broadcast"),
    (lambda: F.concat([X, Tensor(np.zeros((2, 2, 3), np.float32))], axis=1), ValueError, "concat: shapes"),
    (lambda: F.concat([], axis=0), ValueError, "concat: needs at least one"),
    (lambda: F.stack([X, X[:1]]), ValueError, "stack: all tensors need one shape"),
    (lambda: F.split(X, [1, 1], axis=1), ValueError, "split: sizes"),
    (lambda: F.split(X, 0), ValueError, "split: piece size"),
    (lambda: F.split(X, 2, axis=1.0), TypeError, "split: axis must be an int"),
    (lambda: X[np.array([0.0, 1.0])], TypeError, "getitem: index arrays must be integer"),
    (lambda: F.flip(X, (0, -3)), ValueError, "flip: repeated axis"),
    (lambda: F.pad(X, (1, 2, 3)), ValueError, "pad: pads"),
    (lambda: F.pad(X, (1, 1) * 4), ValueError, "pad: pads"),
    (lambda: F.pad(X, (1, -1)), ValueError, "non-negative"),
    (lambda: F.pad(X, (1, 1), mode="wrap"), ValueError, "pad: mode must be"),
    (lambda: F.pad(X, (0, 0, 3, 0), mode="reflect"), ValueError, "smaller than the size 3 of axis 1"),
    (lambda: F.pad(Tensor(np.zeros((2, 0), np.float32)), (1, 0), mode="replicate"), ValueError, "empty axis"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
