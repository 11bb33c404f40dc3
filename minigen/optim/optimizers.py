"""First-order optimisers: SGD, Adam, RMSprop (and their common base, Optimizer).

Updates act in place on the raw arrays of the parameters (``p.data``), with
the array module of the data (NumPy or CuPy), so they record no graph and keep
each parameter's dtype and device. A parameter whose ``.grad`` is None is
skipped by a step.
"""
import math

import numpy as np

from .. import backend
from ..tensor import Tensor


def _param_list(params, who):
    if hasattr(params, "parameters") and callable(params.parameters):  # a Module
        params = params.parameters()
    params = list(params)
    if not params:
        raise ValueError(f"{who}: got an empty parameter list")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{who}: parameters must be Tensors, not {type(p).__name__}")
        if p.dtype.kind != "f":
            raise TypeError(f"{who}: parameters must be floating point, not {p.dtype}")
    return params


class Optimizer:
    """Base class: ``zero_grad()``, ``step()``, ``state_dict()`` / ``load_state_dict()``.

    Subclasses list their hyper-parameter names in ``hyper`` (saved with the
    state so a resumed run continues with the same, possibly scheduled, lr)
    and implement ``update(p, g, state)`` on raw arrays; ``state`` is the
    parameter's dict of moment arrays and its step count.
    """

    hyper = ("lr",)

    def __init__(self, params, lr):
        self.params = _param_list(params, type(self).__name__)
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, not {lr}")
        self.lr = float(lr)
        self.state = [{"step": 0} for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p, state in zip(self.params, self.state):
            if p.grad is None:
                continue
            state["step"] += 1
            self.update(p.data, p.grad, state)

    def update(self, p, g, state):
        raise NotImplementedError

    def _moment(self, state, name, like):
        """The named running array of a parameter, created as zeros on first use."""
        if name not in state:
            state[name] = backend.array_module(like).zeros_like(like)
        return state[name]

    def state_dict(self):
        """Hyper-parameters and per-parameter state (NumPy copies), for resuming."""
        return {"hyper": {k: getattr(self, k) for k in self.hyper},
                "state": [{k: (backend.to_host(v, copy=True) if not isinstance(v, int) else v) for k, v in s.items()}
                          for s in self.state]}

    def load_state_dict(self, d):
        """Restore a state_dict() of the same optimiser over parameters of the same shapes."""
        name = type(self).__name__
        if set(d.get("hyper", {})) != set(self.hyper) or len(d.get("state", ())) != len(self.params):
            raise ValueError(f"{name}.load_state_dict: expected hyper-parameters {sorted(self.hyper)} and "
                             f"state for {len(self.params)} parameters")
        for p, s in zip(self.params, d["state"]):
            for k, v in s.items():
                if k != "step" and tuple(np.shape(v)) != p.shape:
                    raise ValueError(f"{name}.load_state_dict: state {k!r} has shape {np.shape(v)}, "
                                     f"parameter has {p.shape}")
        for k, v in d["hyper"].items():
            setattr(self, k, v)
        self.state = [{k: (int(v) if k == "step" else
                           backend.to_device(np.array(v, dtype=p.dtype), p.device)) for k, v in s.items()}
                      for p, s in zip(self.params, d["state"])]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (heavy ball or Nesterov) and L2 weight decay:

        g <- g + wd p;   b <- mu b + g  (b = g on the first step)
        p <- p - lr * (g + mu b)  if nesterov,  else  p - lr * b   (p - lr g without momentum)
    """

    hyper = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: momentum and weight_decay must be non-negative, got {momentum}, {weight_decay}")
        if nesterov and momentum == 0:
            raise ValueError("SGD: nesterov needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = float(momentum), bool(nesterov), float(weight_decay)

    def update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            b = state.get("momentum")
            if b is None:
                b = state["momentum"] = g.copy()
            else:
                b *= self.momentum
                b += g
            g = g + self.momentum * b if self.nesterov else b
        p -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with L2 weight decay added to the gradient:

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2
        p <- p - lr * m_hat / (sqrt(v_hat) + eps),   m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
    """

    hyper = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"Adam: betas must lie in [0, 1), not {betas}")
        self.betas, self.eps, self.weight_decay = (float(b1), float(b2)), float(eps), float(weight_decay)

    def update(self, p, g, state):
        xp = backend.array_module(p)
        b1, b2 = self.betas
        if self.weight_decay:
            g = g + self.weight_decay * p
        m, v = self._moment(state, "m", p), self._moment(state, "v", p)
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        t = state["step"]
        # lr / (1 - b1^t) folded into one step size; sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t).
        step = self.lr / (1 - b1 ** t)
        p -= step * (m / (xp.sqrt(v) / math.sqrt(1 - b2 ** t) + self.eps))


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton 2012): divide the gradient by a running RMS,

        v <- alpha v + (1 - alpha) g^2,   u = g / (sqrt(v) + eps)
        p <- p - lr u;  with momentum mu:  b <- mu b + u,  p <- p - lr b
    """

    hyper = ("lr", "alpha", "eps", "momentum", "weight_decay")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        if not 0 <= alpha < 1 or momentum < 0:
            raise ValueError(f"RMSprop: alpha must lie in [0, 1) and momentum be non-negative, "
                             f"got {alpha}, {momentum}")
        self.alpha, self.eps, self.momentum = float(alpha), float(eps), float(momentum)
        self.weight_decay = float(weight_decay)

    def update(self, p, g, state):
        xp = backend.array_module(p)
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = self._moment(state, "v", p)
        v *= self.alpha
        v += (1 - self.alpha) * (g * g)
        u = g / (xp.sqrt(v) + self.eps)
        if self.momentum:
            b = self._moment(state, "momentum", p)
            b *= self.momentum
            b += u
            u = b
        p -= self.lr * u
