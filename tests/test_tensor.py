"""The engine: topological order, reuse, broadcasting, no_grad, deep chains, devices, dtypes."""
import numpy as np
import pytest

import minigen as mg
import minigen.functional as F
from minigen import backend
from minigen.tensor import Function, Tensor, unbroadcast

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def leaf(a, device="cpu"):
    return Tensor(backend.to_device(np.asarray(a, dtype=np.float64), device), requires_grad=True)


@pytest.mark.parametrize("device", DEVICES)
def test_chain_rule_on_a_small_graph(device):
    # y = (a*b + a) * b, dy/da = b^2 + b, dy/db = 2ab + a
    a, b = leaf([1.5, -2.0], device), leaf([3.0, 0.5], device)
    y = (a * b + a) * b
    y.sum().backward()
    an, bn = np.array([1.5, -2.0]), np.array([3.0, 0.5])
    np.testing.assert_allclose(a.grad if device == "cpu" else a.grad.get(), bn ** 2 + bn)
    np.testing.assert_allclose(b.grad if device == "cpu" else b.grad.get(), 2 * an * bn + an)


def test_reused_input_accumulates_every_use():
    x = leaf([2.0])
    y = x * x * x + x  # dy/dx = 3x^2 + 1 = 13
    y.backward()
    assert x.grad[0] == pytest.approx(13.0)


def test_diamond_graph_visits_shared_node_once_after_all_its_consumers():
    x = leaf([1.0, 2.0])
    calls = []

    class Spy(Function):
        def forward(self, a):
            return a * 2

        def backward(self, g):
            calls.append(g.copy())
            return g * 2

    s = Spy.apply(x)
    y = F.exp(s) + s * 3  # two consumers of s
    y.sum().backward()
    assert len(calls) == 1  # both contributions summed before s's backward ran
    np.testing.assert_allclose(calls[0], np.exp(2 * x.data) + 3)
    np.testing.assert_allclose(x.grad, 2 * (np.exp(2 * x.data) + 3))


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 4).sum().backward()
    np.testing.assert_allclose(x.grad, [7.0, 7.0])


def test_broadcast_gradients_are_summed_to_the_input_shape():
    a = leaf(np.ones((2, 1, 3)))
    b = leaf(np.ones((4, 1)))
    (a * b).sum().backward()
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (4, 1)
    np.testing.assert_allclose(a.grad, np.full((2, 1, 3), 4.0))
    np.testing.assert_allclose(b.grad, np.full((4, 1), 6.0))


def test_unbroadcast_handles_leading_and_stretched_axes():
    g = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_allclose(unbroadcast(g, ()), g.sum())


def test_a_chain_of_ten_thousand_ops_does_not_recurse():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad[0] == pytest.approx(1.0001 ** 10_000)


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    z = x * 2
    assert z.requires_grad and not z.is_leaf


def test_requires_grad_propagates_only_from_inputs_that_need_it():
    x = leaf([1.0])
    c = Tensor(np.array([2.0]))
    assert not (c * 3).requires_grad
    assert (c * x).requires_grad
    (c * x).backward()
    assert c.grad is None and x.grad[0] == 2.0


def test_graph_is_freed_unless_retained():
    x = leaf([1.0])
    y = F.exp(x)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad[0] == pytest.approx(2 * np.e)
    with pytest.raises(RuntimeError, match="freed"):
        y.backward()


def test_backward_needs_a_gradient_for_non_scalars():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="one element"):
        y.backward()
    y.backward(np.array([1.0, -1.0]))


def test_detach_cuts_the_graph():
    x = leaf([3.0])
    y = x * x.detach()  # d/dx = x only (the detached copy is a constant)
    y.backward()
    assert x.grad[0] == 3.0


def test_multi_output_function_fills_unused_gradients_with_zeros():
    class Halves(Function):
        def forward(self, a):
            return a[:1] * 1, a[1:] * 1

        def backward(self, g0, g1):
            return np.concatenate([g0, g1])

    x = leaf([1.0, 2.0, 3.0])
    first, _ = Halves.apply(x)
    (first * 5).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 0.0, 0.0])


def test_float32_is_the_default_and_float64_is_kept():
    assert mg.tensor([1.0, 2.0]).dtype == np.float32
    assert mg.zeros(2, 3).dtype == np.float32
    x = Tensor(np.ones(3))  # an existing array keeps its dtype
    assert x.dtype == np.float64
    assert (x * 2.5).dtype == np.float64
    assert (mg.tensor([1.0]) * 2.5).dtype == np.float32
    assert F.sum(x).dtype == np.float64  # a NumPy scalar result keeps its dtype


def test_mixed_float_dtypes_are_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="different dtypes"):
        Tensor(np.ones(2, np.float32)) + Tensor(np.ones(2, np.float64))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)


def test_item_numpy_and_repr():
    t = mg.tensor([[2.5]])
    assert t.item() == 2.5
    assert isinstance(t.numpy(), np.ndarray)
    assert "Tensor(" in repr(t) and t.device == "cpu"
    with pytest.raises(ValueError, match="one element"):
        mg.tensor([1.0, 2.0]).item()


def test_to_dtype_is_differentiable():
    x = leaf([1.0, 2.0])
    y = x.to(dtype=np.float32)
    assert y.dtype == np.float32
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad, [2.0, 2.0])


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="unknown device"):
        mg.tensor([1.0]).to("tpu")


@pytest.mark.gpu
def test_to_cuda_and_back_round_trips():
    x = mg.tensor([1.0, 2.0])
    y = x.to("cuda")
    assert y.device == "cuda"
    np.testing.assert_array_equal(y.to("cpu").numpy(), x.numpy())


def test_seeded_random_factories_are_reproducible():
    mg.manual_seed(7)
    a = mg.randn(3, 4)
    mg.manual_seed(7)
    b = mg.randn(3, 4)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32 and mg.rand(2).data.min() >= 0


def test_reverse_operators_and_comparisons():
    x = leaf([2.0, 4.0])
    y = 1.0 - x / 2.0 + 3.0 * x - 8.0 / x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, -0.5 + 3.0 + 8.0 / x.data ** 2)
    np.testing.assert_array_equal((x > 3.0).data, [False, True])


def test_a_node_reached_by_a_short_and_a_long_path_gets_both_gradients():
    # y = s + 3 s with s = 2x: the root's second input depends on its first, so s must
    # wait for the gradient through t before its own backward runs.
    x = leaf([1.0, -1.0])
    s = x * 2.0
    t = s * 3.0
    (s + t).sum().backward()
    np.testing.assert_allclose(x.grad, [8.0, 8.0])
    x.grad = None
    s = x * 2.0  # the same graph with the root's inputs in the other order
    t = s * 3.0
    (t + s).sum().backward()
    np.testing.assert_allclose(x.grad, [8.0, 8.0])


def test_tensor_module_imports_nothing_above_it_and_functional_installs_the_operators():
    import ast
    import inspect
    import subprocess
    import sys

    tree = ast.parse(open(inspect.getsourcefile(Tensor)).read())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {"." * n.level + (n.module or a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                 for a in n.names}
    assert imported <= {"contextlib", "numpy", ".backend"}, imported
    # A fresh interpreter that imports only the engine module gets the operators with it.
    code = ("from minigen.tensor import tensor\n"
            "x = tensor([1.0, 2.0], requires_grad=True)\n"
            "(x * x).sum().backward()\n"
            "print(x.grad.tolist(), x.reshape(2, 1).shape, x[1].item(), x.to(dtype='float64').dtype)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[2.0,", "4.0]", "(2,", "1)", "2.0", "float64"]
