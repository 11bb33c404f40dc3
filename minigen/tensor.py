"""The autograd engine: Tensor, Function, backward.

A Tensor wraps one array (NumPy or CuPy). An op is a Function subclass with
``forward`` and ``backward`` on raw arrays; ``Function.apply`` runs forward and,
when any input needs a gradient, records the function as the creator of its
outputs. ``Tensor.backward`` then visits the recorded functions in reverse
topological order (found iteratively, so deep graphs never hit Python's
recursion limit) and applies the chain rule:

    dL/d(input) = sum over uses of  backward(dL/d(output))

Gradients of inputs that were broadcast are summed back to the input's shape
here, once, so no op has to do it.
"""
import contextlib

import numpy as np

from . import backend

_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Within this block no graph is recorded (inference, optimiser updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    return _grad_enabled


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes NumPy broadcasting added or stretched to reach it."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Function:
    """One differentiable op. Subclasses define, side by side:

    forward(self, *arrays) -> array or tuple of arrays
    backward(self, *grad_outputs) -> one gradient array (or None) per input

    Non-tensor arguments (stride, eps, ...) are keyword parameters, stored as
    attributes before forward runs. ``self.needs_input_grad`` tells backward
    which gradients are wanted; anything forward keeps on ``self`` for
    backward is dropped when the graph is freed.
    """

    def __init__(self, **params):
        self.__dict__.update(params)

    @classmethod
    def apply(cls, *inputs, **params):
        fn = cls(**params)
        tensors = [x if x is None or isinstance(x, Tensor) else Tensor(x) for x in inputs]
        _check_compatible(cls.__name__, tensors)
        fn.needs_input_grad = tuple(t is not None and t.requires_grad for t in tensors)
        out = fn.forward(*[None if t is None else t.data for t in tensors])
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        track = _grad_enabled and any(fn.needs_input_grad)
        results = tuple(Tensor(o, requires_grad=track) for o in outs)
        if track:
            fn.inputs = tensors
            fn.output_meta = tuple((o.shape, o.dtype) for o in outs)
            for i, r in enumerate(results):
                r._creator, r._index = fn, i
        for hook in _apply_hooks:
            hook(cls)
        return results[0] if single else results

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError


# Observers of every Function.apply (the gradcheck records which ops a case ran).
_apply_hooks = []


def _check_compatible(name, tensors):
    present = [t for t in tensors if t is not None]
    devices = {t.device for t in present}
    if len(devices) > 1:
        raise ValueError(f"{name}: inputs are on different devices {sorted(devices)}")
    floats = {t.dtype for t in present if t.dtype.kind == "f"}
    if len(floats) > 1:
        raise TypeError(f"{name}: inputs have different dtypes {sorted(str(d) for d in floats)}; "
                        "convert them to one dtype first")


class Tensor:
    """An array with an optional gradient and a link to the Function that made it."""

    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.generic):
            data = np.asarray(data)  # a NumPy scalar keeps its dtype
        elif not (isinstance(data, np.ndarray) or backend.is_cupy(data)):
            data = np.asarray(data)
            if dtype is None and data.dtype.kind == "f":
                dtype = backend.default_dtype()  # Python floats become float32
        if dtype is not None and data.dtype != dtype:
            data = data.astype(dtype)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, not {data.dtype}")
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._creator = None  # the Function that produced this tensor
        self._index = 0       # which of its outputs this is

    # ---- properties -------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    device = property(lambda self: backend.device_of(self.data))
    is_leaf = property(lambda self: self._creator is None)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}, device='{self.device}'{grad})"

    # ---- conversion ----------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (copied from the GPU if needed)."""
        return backend.to_host(self.data)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, not shape {self.shape}")
        return self.data.reshape(()).item()

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def to(self, device=None, dtype=None):
        """A copy on another device and/or dtype (the same tensor if nothing changes).

        Moving between devices cuts the graph; a dtype change is differentiable.
        """
        t = self
        if device is not None and device != self.device:
            t = Tensor(backend.to_device(self.data, device), requires_grad=self.requires_grad)
        if dtype is not None and np.dtype(dtype) != t.dtype:
            t = t.astype(dtype)  # installed by minigen.functional
        return t

    # ---- backward ------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires it.

        ``grad`` is dL/d(self); it defaults to 1 for a one-element tensor.
        The graph is freed afterwards unless ``retain_graph`` is true.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad")
        xp = backend.array_module(self.data)
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() without a gradient needs one element, not shape {self.shape}")
            grad = xp.ones_like(self.data)
        grad = grad.data if isinstance(grad, Tensor) else xp.asarray(grad, dtype=self.dtype)
        if self._creator is None:
            self._accumulate(grad)
            return
        order = _topological_order(self._creator)
        pending = {id(self._creator): [None] * len(self._creator.output_meta)}
        pending[id(self._creator)][self._index] = grad
        for fn in reversed(order):
            grads = pending.pop(id(fn), None)
            if grads is None:
                continue  # nothing flowed into this branch
            grads = [xp.zeros(s, d) if g is None else g for g, (s, d) in zip(grads, fn.output_meta)]
            in_grads = fn.backward(*grads)
            if not isinstance(in_grads, tuple):
                in_grads = (in_grads,)
            for t, g in zip(fn.inputs, in_grads):
                if t is None or g is None or not t.requires_grad:
                    continue
                g = unbroadcast(g, t.shape)
                if t._creator is None:
                    t._accumulate(g)
                else:
                    slot = pending.setdefault(id(t._creator), [None] * len(t._creator.output_meta))
                    slot[t._index] = g if slot[t._index] is None else slot[t._index] + g
            if not retain_graph:
                fn.__dict__.clear()  # drop inputs and saved arrays
                fn.freed = True

    def _accumulate(self, g):
        # Copy on first store: a backward may hand the same array to two inputs.
        self.grad = g.copy() if self.grad is None else self.grad + g

    # comparisons give plain boolean tensors, outside the graph
    def __lt__(self, other): return Tensor(self.data < _raw(other))
    def __le__(self, other): return Tensor(self.data <= _raw(other))
    def __gt__(self, other): return Tensor(self.data > _raw(other))
    def __ge__(self, other): return Tensor(self.data >= _raw(other))

    # Arithmetic, matmul, indexing, reductions, reshapes and the elementwise
    # functions (x + y, x @ w, x[i], x.sum(), x.reshape(...), x.relu(), ...) are
    # differentiable ops of minigen.functional, which installs them on this class
    # when it is imported (as ``import minigen`` does).


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _topological_order(root):
    """Functions reachable from ``root``, each after all functions feeding it (iterative DFS)."""
    # A function is marked when it is expanded, not when pushed: marking at push time lets a
    # function reached by two paths be emitted before a consumer that pushed it second.
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if getattr(fn, "freed", False):
            raise RuntimeError("backward through a graph that was already freed; "
                               "pass retain_graph=True to the first backward")
        stack.append((fn, True))
        for t in fn.inputs:
            parent = None if t is None else t._creator
            if parent is not None and id(parent) not in seen:
                stack.append((parent, False))
    return order


# ---- factories ---------------------------------------------------------------

def tensor(data, dtype=None, requires_grad=False, device="cpu"):
    """A new tensor from a Python number, list or array (float32 by default for floats)."""
    t = Tensor(data, dtype=dtype)
    t.data = backend.to_device(t.data, device)
    t.requires_grad = requires_grad
    return t


def _filled(fill, shape, dtype, requires_grad, device):
    xp = np if device == "cpu" else backend.cupy()
    backend.check_device(device)
    return Tensor(fill(xp)(shape, dtype or backend.default_dtype()), requires_grad=requires_grad)


def zeros(*shape, dtype=None, requires_grad=False, device="cpu"):
    return _filled(lambda xp: xp.zeros, _shape(shape), dtype, requires_grad, device)


def ones(*shape, dtype=None, requires_grad=False, device="cpu"):
    return _filled(lambda xp: xp.ones, _shape(shape), dtype, requires_grad, device)


def randn(*shape, dtype=None, requires_grad=False, device="cpu"):
    """Standard normal samples from the shared generator (see backend.manual_seed)."""
    data = backend.random_like(_shape(shape), dtype or backend.default_dtype(), device, "normal")
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape, dtype=None, requires_grad=False, device="cpu"):
    """Uniform [0, 1) samples from the shared generator."""
    data = backend.random_like(_shape(shape), dtype or backend.default_dtype(), device, "uniform")
    return Tensor(data, requires_grad=requires_grad)


def _shape(shape):
    return tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else tuple(shape)
