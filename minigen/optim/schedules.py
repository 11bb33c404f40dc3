"""Learning-rate schedules, gradient clipping and weight averaging (EMA)."""
import contextlib
import math

import numpy as np

from .. import backend
from .optimizers import _param_list


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
