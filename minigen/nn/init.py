"""In-place weight initialisation, drawing from minigen's shared generator.

Each function overwrites ``tensor.data`` (keeping its dtype and device) and
returns the tensor. Values are drawn in float64 on the host from
``backend.rng()`` (so a seed gives the same weights on CPU and GPU), then cast.

For a weight of shape (out, in, *kernel) the fans are
    fan_in = in * prod(kernel),  fan_out = out * prod(kernel)
(a transposed-conv weight (in, out, kH, kW) is read by the same rule).

- Glorot & Bengio (2010), "Understanding the difficulty of training deep
  feedforward neural networks": keep the variance of activations and of
  gradients, Var(w) = 2 / (fan_in + fan_out), times gain^2.
    xavier_uniform_: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
    xavier_normal_:  N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
- He et al. (2015), "Delving deep into rectifiers": keep the variance through
  a rectifier, Var(w) = gain^2 / fan with gain^2 = 2 / (1 + a^2) for a leaky
  ReLU of slope a (2 for ReLU).
    kaiming_uniform_: U(-b, b), b = gain * sqrt(3 / fan)
    kaiming_normal_:  N(0, s^2), s = gain / sqrt(fan)
"""
import math

from .. import backend
from ..tensor import Tensor


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activation variance at 1 through ``nonlinearity``.

    linear / conv / sigmoid: 1;  tanh: 5/3;  relu: sqrt(2);
    leaky_relu with slope a (param, default 0.01): sqrt(2 / (1 + a^2)).
    """
    if nonlinearity in ("linear", "conv2d", "conv_transpose2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r} "
                     "(use linear, conv2d, conv_transpose2d, sigmoid, tanh, relu or leaky_relu)")


def calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    shape = _check(tensor, "calculate_fan_in_and_fan_out").shape
    if len(shape) < 2:
        raise ValueError(f"calculate_fan_in_and_fan_out: needs a weight with at least 2 dims, not shape {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', not {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check(tensor, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor or Parameter, not {type(tensor).__name__}")
    return tensor


def _write(tensor, values):
    """Copy float64 host values into the tensor's array, in its dtype and on its device."""
    data = tensor.data
    data[...] = backend.to_device(values.astype(data.dtype, copy=False), backend.device_of(data))
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    """Fill with samples of U(a, b)."""
    _check(tensor, "uniform_")
    return _write(tensor, backend.rng().uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2)."""
    _check(tensor, "normal_")
    return _write(tensor, backend.rng().normal(mean, std, tensor.shape))


def constant_(tensor, val):
    _check(tensor, "constant_")
    tensor.data[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))  (Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out))  (Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(-b, b) with b = gain * sqrt(3 / fan)  (He et al. 2015); ``a`` is the leaky-ReLU slope."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, s^2) with s = gain / sqrt(fan)  (He et al. 2015); ``a`` is the leaky-ReLU slope."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "uniform_", "normal_", "constant_", "zeros_",
           "ones_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]
