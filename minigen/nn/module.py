"""Module and Parameter: the containers that networks are built from.

A Module owns three ordered collections, filled automatically by attribute
assignment:

- parameters: ``Parameter`` tensors (trained by the optimisers),
- sub-modules: other ``Module`` objects (their names give dotted paths such
  as ``body.0.weight``),
- buffers: raw arrays registered with ``register_buffer`` (running
  statistics); saved in the state dict but never trained.
"""
from collections import OrderedDict

import numpy as np

from .. import backend
from ..errors import MinigenError
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as trainable (requires grad by default)."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return f"Parameter(shape={self.shape}, dtype={self.dtype}, device='{self.device}')"


class Module:
    """Base class of layers and networks: subclasses set attributes in ``__init__`` and define ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ----------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call Module.__init__() before assigning attributes")
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif name in self._buffers:
            self.register_buffer(name, value)  # e.g. new running statistics
        elif name in self._parameters or name in self._modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}.{name}: assign a Parameter, a Module or None, "
                                f"not {type(value).__name__}")
            (self._parameters if name in self._parameters else self._modules)[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the three tables.
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {name!r}")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register a Parameter (or None, for an absent optional one such as a bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, not {type(param).__name__}")
        self._place(self._parameters, name, param)

    def register_buffer(self, name, array):
        """Register a raw array (or None) that is saved in the state dict but not trained."""
        if isinstance(array, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a raw array, not a Tensor (pass tensor.data)")
        if array is not None and not (isinstance(array, np.ndarray) or backend.is_cupy(array)):
            array = np.asarray(array)
        self._place(self._buffers, name, array)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, not {type(module).__name__}")
        self._place(self._modules, name, module)

    def _place(self, table, name, value):
        """Store ``value`` under ``name`` in one table; the name leaves the other tables and plain attributes."""
        self.__dict__.pop(name, None)
        for other in (self._parameters, self._buffers, self._modules):
            if other is not table:
                other.pop(name, None)
        table[name] = value

    # ---- traversal -----------------------------------------------------------
    def named_modules(self, prefix=""):
        """(dotted name, module) for this module and every descendant, each once."""
        seen, stack = set(), [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            children = [(f"{name}.{n}" if name else n, c) for n, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._modules.items() if m is not None)

    def children(self):
        return (m for _, m in self.named_children())

    def named_parameters(self):
        """(dotted name, Parameter) pairs; a parameter shared by two modules appears once."""
        seen = set()
        for name, m in self.named_modules():
            for n, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{name}.{n}" if name else n), p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for name, m in self.named_modules():
            for n, b in m._buffers.items():
                if b is not None:
                    yield (f"{name}.{n}" if name else n), b

    def buffers(self):
        return [b for _, b in self.named_buffers()]

    def apply(self, fn):
        """Call ``fn(module)`` on every module (e.g. a custom initialisation); returns self."""
        for m in list(self.modules()):
            fn(m)
        return self

    # ---- state -----------------------------------------------------------------
    def _state_entries(self):
        """(dotted name, table, key) of every parameter and buffer that is set, in state-dict order:
        each module's own parameters, then its buffers, then its children's."""
        for name, m in self.named_modules():
            for table in (m._parameters, m._buffers):
                for n, a in table.items():
                    if a is not None:
                        yield (f"{name}.{n}" if name else n), table, n

    def state_dict(self):
        """Name -> NumPy copy of every parameter and buffer (GPU arrays are copied to the host)."""
        return OrderedDict((k, backend.to_host(table[n], copy=True)) for k, table, n in self._state_entries())

    def load_state_dict(self, state, strict=True):
        """Copy arrays from ``state`` into the parameters and buffers, keeping their dtype and device.

        Mis-shaped entries are always an error; missing or unexpected names are
        an error when ``strict``. All problems are reported in one MinigenError.
        Returns (missing, unexpected) name lists.
        """
        targets = {k: (table, n) for k, table, n in self._state_entries()}
        values = {k: backend.to_host(v) for k, v in state.items()}
        missing = [k for k in targets if k not in values]
        unexpected = [k for k in values if k not in targets]
        misshaped = [f"{k} (expected {tuple(table[n].shape)}, got {values[k].shape})"
                     for k, (table, n) in targets.items() if k in values and values[k].shape != tuple(table[n].shape)]
        problems = []
        if misshaped:
            problems.append("mis-shaped: " + ", ".join(misshaped))
        if strict and missing:
            problems.append("missing: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected: " + ", ".join(unexpected))
        if problems:
            raise MinigenError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        for k, (table, n) in targets.items():
            if k in values:
                old = table[n]
                data = old.data if isinstance(old, Tensor) else old
                new = backend.to_device(values[k].astype(data.dtype, copy=True), backend.device_of(data))
                if isinstance(old, Tensor):
                    old.data = new
                else:
                    table[n] = new
        return missing, unexpected

    # ---- modes, devices, gradients -----------------------------------------------
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) on this module and all descendants."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, flag=True):
        """Freeze (False) or unfreeze every parameter, e.g. a fixed feature network; returns self."""
        for p in self.parameters():
            p.requires_grad = bool(flag)
        return self

    def to(self, device=None, dtype=None):
        """Move parameters, their gradients and floating buffers in place; returns self."""
        if device is not None:
            backend.check_device(device)
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to: dtype must be a floating type, not {dtype}")

        def convert(a):
            if device is not None:
                a = backend.to_device(a, device)
            if dtype is not None and a.dtype.kind == "f":
                a = a.astype(dtype, copy=False)
            return a

        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    p.data = convert(p.data)
                    p.grad = None if p.grad is None else convert(p.grad)
            for n, b in m._buffers.items():
                if b is not None:
                    m._buffers[n] = convert(b)
        return self

    def zero_grad(self):
        """Drop the accumulated gradients of every parameter."""
        for p in self.parameters():
            p.grad = None

    # ---- calling ---------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self):
        """The layer's settings, shown inside its repr."""
        return ""

    def __repr__(self):
        children = [f"({n}): " + repr(m).replace("\n", "\n  ") for n, m in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        return head + "\n  " + "\n  ".join(children) + "\n)"


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Sub-modules are named "0", "1", ...; or pass one dict of name -> module.
    Indexing gives a module (int) or a new Sequential sharing the modules (slice).
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            items = modules[0].items()
        else:
            items = ((str(i), m) for i, m in enumerate(modules))
        for name, m in items:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: item {name!r} is a {type(m).__name__}, not a Module")
            self.add_module(name, m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[index][1]

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, not {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self

    def forward(self, x):
        for m in self:
            x = m(x)
        return x


class ModuleList(Module):
    """A list of sub-modules (named "0", "1", ...) for networks whose forward is not a chain."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        return list(self._modules.values())[index]

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, not {type(module).__name__}")
        self.add_module(str(len(self)), module)
        return self
