"""Optimisers, learning-rate schedules, gradient clipping and weight averaging.

Updates act in place on the raw arrays of the parameters (``p.data``), with
the array module of the data (NumPy or CuPy), so they record no graph and keep
each parameter's dtype and device. A parameter whose ``.grad`` is None is
skipped by a step.
"""
import contextlib
import math

import numpy as np

from . import backend
from .tensor import Tensor


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


class LBFGS:
    """Minimise a scalar closure over the parameters with scipy's L-BFGS-B.

    The parameters are flattened into one float64 vector x. Each evaluation
    writes x back into the parameters (in their dtype and device), clears
    their gradients, calls ``closure()`` -- which computes and returns the
    loss Tensor without calling backward -- runs backward, and hands scipy
    (loss, gradient). Memory: ``history_size`` pairs of vectors of the
    parameters' total size.

    max_iter: iterations;
    max_eval: loss evaluations (default 2 * max_iter: a line search sometimes needs a few;
        scipy checks it between iterations, so a run may overshoot it by one line search);
    tolerance: stop when the relative loss decrease falls below it (scipy's ftol);
    grad_tolerance: stop when max |gradient| falls below it (scipy's gtol);
    bounds: optional (low, high) applied to every value (e.g. pixels in [0, 1]).
    """

    def __init__(self, params, max_iter=100, max_eval=None, tolerance=1e-9, grad_tolerance=1e-7,
                 history_size=10, bounds=None):
        self.params = _param_list(params, "LBFGS")
        if max_iter < 1:
            raise ValueError(f"LBFGS: max_iter must be positive, not {max_iter}")
        self.max_iter = int(max_iter)
        self.max_eval = int(max_eval) if max_eval is not None else 2 * self.max_iter
        self.tolerance, self.grad_tolerance = float(tolerance), float(grad_tolerance)
        self.history_size, self.bounds = int(history_size), bounds

    def _get(self):
        return np.concatenate([np.asarray(backend.to_host(p.data), np.float64).ravel() for p in self.params])

    def _set(self, x):
        i = 0
        for p in self.params:
            n = p.size
            p.data[...] = backend.to_device(x[i:i + n].reshape(p.shape).astype(p.dtype), p.device)
            i += n

    def minimize(self, closure, callback=None):
        """Run the optimisation; ``callback(iteration, loss)`` after each iteration. Returns scipy's result.

        The parameters end at the result's x. ``loss`` in the callback is the
        latest evaluation, which is the accepted iterate in L-BFGS-B.
        """
        from scipy.optimize import Bounds, minimize  # imported here: slow to import, only L-BFGS needs it

        last = {"loss": None, "iteration": 0}

        def fun(x):
            self._set(x)
            for p in self.params:
                p.grad = None
            loss = closure()
            if not isinstance(loss, Tensor) or loss.size != 1:
                raise TypeError("LBFGS: the closure must return the scalar loss as a Tensor")
            loss.backward()
            grad = np.concatenate([np.zeros(p.size) if p.grad is None else
                                   np.asarray(backend.to_host(p.grad), np.float64).ravel()
                                   for p in self.params])
            last["loss"] = float(loss.item())
            return last["loss"], grad

        def step(_xk):
            last["iteration"] += 1
            callback(last["iteration"], last["loss"])

        bounds = None
        if self.bounds is not None:
            lo, hi = self.bounds
            n = sum(p.size for p in self.params)
            bounds = Bounds(np.full(n, -np.inf if lo is None else lo), np.full(n, np.inf if hi is None else hi))
        result = minimize(fun, self._get(), jac=True, method="L-BFGS-B", bounds=bounds,
                          callback=step if callback is not None else None,
                          options={"maxiter": self.max_iter, "maxfun": self.max_eval, "ftol": self.tolerance,
                                   "gtol": self.grad_tolerance, "maxcor": self.history_size})
        self._set(result.x)
        return result


# ---- learning-rate schedules -----------------------------------------------------------

class LRScheduler:
    """Sets ``optimizer.lr = lr_at(epoch)`` from the initial lr; call ``step()`` once per epoch (or step)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)
        return self.optimizer.lr

    def state_dict(self):
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, d):
        self.base_lr, self.last_epoch = float(d["base_lr"]), int(d["last_epoch"])
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """lr = base_lr * gamma ^ floor(epoch / step_size)."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be positive, not {step_size}")
        super().__init__(optimizer)
        self.step_size, self.gamma = int(step_size), float(gamma)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ^ epoch."""

    def __init__(self, optimizer, gamma):
        super().__init__(optimizer)
        self.gamma = float(gamma)

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi min(epoch, T_max) / T_max)) / 2  (Loshchilov & Hutter 2017,
    without restarts; stays at eta_min after T_max)."""

    def __init__(self, optimizer, T_max, eta_min=0.0):  # noqa: N803 (the familiar name)
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, not {T_max}")
        super().__init__(optimizer)
        self.T_max, self.eta_min = int(T_max), float(eta_min)

    def lr_at(self, epoch):
        t = min(epoch, self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch), e.g. a linear decay to 0 over the second half of training."""

    def __init__(self, optimizer, lr_lambda):
        super().__init__(optimizer)
        self.lr_lambda = lr_lambda

    def lr_at(self, epoch):
        return self.base_lr * float(self.lr_lambda(epoch))


# ---- gradient clipping and weight averaging ----------------------------------------------

def clip_grad_norm_(params, max_norm):
    """Scale all gradients by min(1, max_norm / (||g|| + 1e-6)), ||g|| the 2-norm of all of them together.

    Returns ||g|| before clipping, as a Python float (inf or nan pass through, for the caller to detect).
    """
    grads = [p.grad for p in _param_list(params, "clip_grad_norm_") if p.grad is not None]
    total = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total


class EMA:
    """Exponential moving average of weights, for evaluation and sampling (e.g. DDPM):

        a <- decay * a + (1 - decay) * p      after each optimiser step (``update()``)

    ``copy_to(target)`` writes the averages into a module or parameter list;
    ``with ema.apply(): ...`` swaps them into the tracked parameters for the
    block and restores the trained weights afterwards. Buffers (running
    statistics) are not averaged.
    """

    def __init__(self, params, decay=0.999):
        if not 0 <= decay < 1:
            raise ValueError(f"EMA: decay must lie in [0, 1), not {decay}")
        self.params = _param_list(params, "EMA")
        self.decay = float(decay)
        self.shadow = [p.data.copy() for p in self.params]

    def update(self):
        for a, p in zip(self.shadow, self.params):
            a *= self.decay
            a += (1 - self.decay) * p.data

    def copy_to(self, target=None):
        """Write the averages into ``target`` (a Module or parameters, same order and shapes; default: the
        tracked parameters)."""
        params = self.params if target is None else _param_list(target, "EMA.copy_to")
        if [p.shape for p in params] != [a.shape for a in self.shadow]:
            raise ValueError("EMA.copy_to: the target's parameters do not match the averaged ones in shape")
        for p, a in zip(params, self.shadow):
            p.data[...] = backend.to_device(a, p.device).astype(p.dtype, copy=False)

    @contextlib.contextmanager
    def apply(self):
        """Use the averaged weights inside the block; the trained ones come back after it."""
        saved = [p.data.copy() for p in self.params]
        self.copy_to()
        try:
            yield self
        finally:
            for p, s in zip(self.params, saved):
                p.data[...] = s

    def state_dict(self):
        return {"decay": self.decay, "shadow": [backend.to_host(a, copy=True) for a in self.shadow]}

    def load_state_dict(self, d):
        if [np.shape(a) for a in d["shadow"]] != [a.shape for a in self.shadow]:
            raise ValueError("EMA.load_state_dict: the saved averages do not match the parameters in shape")
        self.decay = float(d["decay"])
        self.shadow = [backend.to_device(np.array(a, dtype=p.dtype), p.device)
                       for a, p in zip(d["shadow"], self.params)]
