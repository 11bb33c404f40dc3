"""Pixel and classification losses: mean squared and absolute error, binary and softmax
cross-entropy (``reduction`` and ``target`` as the package docstring says).
"""
import numpy as np

from .. import functional as F
from ..backend import array_module, is_cupy, to_device
from ..tensor import Function, Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(values, reduction, name):
    if reduction == "mean":
        return F.mean(values)
    if reduction == "sum":
        return F.sum(values)
    if reduction == "none":
        return values
    raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, not {reduction!r}")


def _pair(input, target, name):
    """input and target as tensors of one shape; a raw target takes input's dtype and device."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, not {type(input).__name__}")
    if not isinstance(target, Tensor):
        data = target if is_cupy(target) else np.asarray(target)
        target = Tensor(to_device(data, input.device).astype(input.dtype, copy=False))
    elif target.dtype.kind != "f":
        target = Tensor(target.data.astype(input.dtype))  # integer labels: no gradient, input's dtype
    if target.shape != input.shape:
        raise ValueError(f"{name}: target shape {target.shape} differs from input shape {input.shape}")
    return input, target


def mse_loss(input, target, reduction="mean"):
    """Mean squared error:  l_i = (x_i - y_i)^2,  reduced by mean or sum."""
    input, target = _pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error:  l_i = |x_i - y_i|  (gradient sign(x - y), 0 at ties)."""
    input, target = _pair(input, target, "l1_loss")
    return _reduce(F.abs(input - target), reduction, "l1_loss")


def bce_loss(input, target, reduction="mean"):
    """Binary cross-entropy of probabilities p in [0, 1] against targets y in [0, 1]:

        l_i = -(y_i log p_i + (1 - y_i) log(1 - p_i))

    p is clipped to [e, 1 - e] with e the dtype's machine epsilon, so p = 0 or 1
    gives a large finite loss (|log e| ~ 16 in float32, 36 in float64) and a zero
    gradient instead of inf/nan. Prefer bce_with_logits on logits: it is exact.
    """
    input, target = _pair(input, target, "bce_loss")
    e = float(np.finfo(input.dtype).eps)
    p = F.clamp(input, e, 1.0 - e)
    return _reduce(-(target * F.log(p) + (1.0 - target) * F.log(1.0 - p)), reduction, "bce_loss")


class BCEWithLogits(Function):
    """Binary cross-entropy of logits z against targets y, elementwise:

        l = -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)))
          = max(z, 0) - z y + log(1 + e^-|z|)          (no overflow for any z)
        dl/dz = sigmoid(z) - y,   dl/dy = -z
    """
    def forward(self, z, y):
        xp = array_module(z)
        self.z, self.y = z, y
        return xp.maximum(z, 0) - z * y + xp.log1p(xp.exp(-xp.abs(z)))

    def backward(self, g):
        xp = array_module(g)
        dz = None
        if self.needs_input_grad[0]:
            e = xp.exp(-xp.abs(self.z))  # sigmoid from e^-|z| <= 1: no overflow
            dz = g * (xp.where(self.z >= 0, 1, e) / (1 + e) - self.y)
        dy = -g * self.z if self.needs_input_grad[1] else None
        return dz, dy


def bce_with_logits(input, target, reduction="mean"):
    """Binary cross-entropy on logits (the stable form; see BCEWithLogits)."""
    input, target = _pair(input, target, "bce_with_logits")
    return _reduce(BCEWithLogits.apply(input, target), reduction, "bce_with_logits")


def cross_entropy(logits, target, reduction="mean"):
    """Softmax cross-entropy with integer class targets; classes on axis 1:

        l_n = -log softmax(z_n)_{t_n} = logsumexp(z_n) - z_{n, t_n}

    logits (N, C) or (N, C, d1, ...), target integers (N,) or (N, d1, ...) in
    [0, C). 'mean' averages over all N * d1 * ... positions.
    """
    if not isinstance(logits, Tensor) or logits.ndim < 2:
        raise ValueError(f"cross_entropy: logits must be a Tensor of shape (N, C, ...), got "
                         f"{getattr(logits, 'shape', type(logits).__name__)}")
    host = np.asarray(to_device(target.data if isinstance(target, Tensor) else target, "cpu"))
    c = logits.shape[1]
    want = logits.shape[:1] + logits.shape[2:]
    if host.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must hold integer class indices, not {host.dtype}")
    if host.shape != want:
        raise ValueError(f"cross_entropy: target shape {host.shape} should be {want} for logits {logits.shape}")
    if host.size and (host.min() < 0 or host.max() >= c):
        raise ValueError(f"cross_entropy: target classes must lie in [0, {c}), got {host.min()}..{host.max()}")
    # A one-hot mask picks z_{n, t_n}: an elementwise product, no scatter in backward. Laid out as the
    # logits (a moved axis of eye(c)[t] would make that product and its backward strided passes).
    onehot = np.zeros(logits.shape, logits.dtype)
    np.put_along_axis(onehot, host[:, None], 1, axis=1)
    picked = F.sum(logits * Tensor(to_device(onehot, logits.device)), axis=1)
    return _reduce(F.logsumexp(logits, axis=1) - picked, reduction, "cross_entropy")
