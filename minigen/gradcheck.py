"""Finite-difference gradient checks, in float64.

For ``out = fn(*inputs)`` the check forms the scalar L = sum(out * R) with a
fixed random R (so every output element matters), gets dL/dx by backward,
and compares it with central differences

    dL/dx_i ~ (L(x + h e_i) - L(x - h e_i)) / 2h           (per element)
    <dL/dx, v> ~ (L(x + h v) - L(x - h v)) / 2h            (directional)

Small inputs are checked element by element; large ones along a few random
unit directions v. An entry passes when |analytic - numeric| <= atol +
rtol * |numeric|. With h = 1e-6 in float64 the truncation error is O(h^2)
~ 1e-12 and the rounding error ~ 1e-16 |L| / h ~ 1e-10 |L|, so atol = 1e-6,
rtol = 1e-4 leave a wide margin for |L| up to ~1e3 while any real mistake in
a backward (a missing term, a wrong sign or factor) is far larger.
"""
from dataclasses import dataclass, field

import numpy as np

from .backend import device_of, to_device, to_host
from .tensor import Tensor, _apply_hooks, no_grad


@dataclass
class InputReport:
    name: str
    mode: str          # 'element' or 'direction'
    checked: int       # number of elements or directions compared
    max_abs: float
    max_rel: float
    passed: bool


@dataclass
class Report:
    inputs: list = field(default_factory=list)
    functions: set = field(default_factory=set)   # Function classes the check ran

    @property
    def passed(self):
        return bool(self.inputs) and all(r.passed for r in self.inputs)

    def summary(self):
        return "; ".join(f"{r.name}: {r.mode} x{r.checked} max abs {r.max_abs:.2e} rel {r.max_rel:.2e}"
                         f" {'ok' if r.passed else 'FAIL'}" for r in self.inputs)


def gradcheck(fn, inputs, names=None, eps=1e-6, atol=1e-6, rtol=1e-4,
              max_elements=64, directions=3, joint=False, seed=0):
    """Compare backward with central differences for every input that requires grad.

    fn: callable taking the inputs (Tensors) and returning a Tensor or a tuple of Tensors.
    inputs: Tensors; those with requires_grad are checked (their .data is
        perturbed in place and restored, so module parameters can be passed).
    max_elements: inputs up to this size are checked element by element.
    joint: one random direction over all inputs together (for models).
    Returns a Report; raises TypeError for non-float64 inputs.
    """
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for t in checked:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs, got {t.dtype}")
        if not t.data.flags.c_contiguous:
            t.data = t.data.copy()
    names = names or [f"input{i}" for i in range(len(checked))]
    rng = np.random.default_rng(seed)
    report = Report()
    hook = report.functions.add
    _apply_hooks.append(hook)
    try:
        outs = _as_tuple(fn(*inputs))
        weights = [rng.standard_normal(o.shape) for o in outs]
        weights = [_like(w, o.data) for w, o in zip(weights, outs)]
        for t in checked:
            t.grad = None
        _loss(outs, weights).backward()
    finally:
        _apply_hooks.remove(hook)
    grads = [t.grad if t.grad is not None else 0 * t.data for t in checked]

    def loss():
        with no_grad():
            return float(_loss(_as_tuple(fn(*inputs)), weights).item())

    if joint:
        report.inputs.append(_directional(loss, checked, grads, "all parameters", eps, atol, rtol, directions, rng))
        return report
    for t, g, name in zip(checked, grads, names):
        if t.data.size <= max_elements:
            report.inputs.append(_elementwise(loss, t, g, name, eps, atol, rtol))
        else:
            report.inputs.append(_directional(loss, [t], [g], name, eps, atol, rtol, directions, rng))
    return report


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _like(a, ref):
    return to_device(a.astype(ref.dtype), device_of(ref))


def _loss(outs, weights):
    total = None
    for o, w in zip(outs, weights):
        term = (o * Tensor(w)).sum()
        total = term if total is None else total + term
    return total


def _verdict(name, mode, analytic, numeric, atol, rtol):
    err = np.abs(analytic - numeric)
    rel = err / np.maximum(np.abs(numeric), 1e-12)
    passed = bool(np.all(err <= atol + rtol * np.abs(numeric)))
    return InputReport(name, mode, int(err.size), float(err.max()), float(rel.max()), passed)


def _elementwise(loss, t, grad, name, eps, atol, rtol):
    flat = t.data.reshape(-1)  # a view: gradcheck made the input contiguous
    numeric = np.empty(t.data.size)
    for i in range(t.data.size):
        keep = flat[i].item()
        flat[i] = keep + eps
        up = loss()
        flat[i] = keep - eps
        down = loss()
        flat[i] = keep
        numeric[i] = (up - down) / (2 * eps)
    return _verdict(name, "element", np.asarray(to_host(grad), np.float64).reshape(-1), numeric, atol, rtol)


def _directional(loss, tensors, grads, name, eps, atol, rtol, directions, rng):
    analytic, numeric = [], []
    for _ in range(directions):
        vs = [rng.standard_normal(t.shape) for t in tensors]
        norm = np.sqrt(sum(float((v * v).sum()) for v in vs))
        vs = [_like(v / norm, t.data) for v, t in zip(vs, tensors)]
        keep = [t.data.copy() for t in tensors]
        for t, v in zip(tensors, vs):
            t.data[...] = t.data + eps * v
        up = loss()
        for t, k, v in zip(tensors, keep, vs):
            t.data[...] = k - eps * v
        down = loss()
        for t, k in zip(tensors, keep):
            t.data[...] = k
        numeric.append((up - down) / (2 * eps))
        analytic.append(sum(float((np.asarray(to_host(g), np.float64) * np.asarray(to_host(v), np.float64)).sum())
                             for g, v in zip(grads, vs)))
    return _verdict(name, "direction", np.array(analytic), np.array(numeric), atol, rtol)
