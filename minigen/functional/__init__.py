"""Differentiable ops, one family per file; ``import minigen.functional as F``.

Names and arguments follow the familiar NCHW conventions (see DESIGN.md).
"""
from .arithmetic import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .matmul import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .sample import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .pixel_shuffle import *  # noqa: F401,F403

# ---- Tensor's operators and methods --------------------------------------------------
# tensor.py imports nothing from here: importing this package (``import minigen`` does)
# gives Tensor its operators, each a call of one of the differentiable ops above.

from ..tensor import Tensor as _Tensor  # noqa: E402


def _varargs(args):
    """x.reshape(2, 3) and x.reshape((2, 3)) alike."""
    return args[0] if len(args) == 1 and not isinstance(args[0], int) else args


_TENSOR_METHODS = {
    "__add__": lambda self, other: add(self, other),
    "__radd__": lambda self, other: add(other, self),
    "__sub__": lambda self, other: sub(self, other),
    "__rsub__": lambda self, other: sub(other, self),
    "__mul__": lambda self, other: mul(self, other),
    "__rmul__": lambda self, other: mul(other, self),
    "__truediv__": lambda self, other: div(self, other),
    "__rtruediv__": lambda self, other: div(other, self),
    "__pow__": lambda self, p: pow(self, p),
    "__neg__": lambda self: neg(self),
    "__matmul__": lambda self, other: matmul(self, other),
    "__rmatmul__": lambda self, other: matmul(other, self),
    "__getitem__": lambda self, index: getitem(self, index),
    "sum": lambda self, axis=None, keepdims=False: sum(self, axis, keepdims),
    "mean": lambda self, axis=None, keepdims=False: mean(self, axis, keepdims),
    "var": lambda self, axis=None, keepdims=False, unbiased=False: var(self, axis, keepdims, unbiased),
    "max": lambda self, axis=None, keepdims=False: max(self, axis, keepdims),
    "reshape": lambda self, *shape: reshape(self, _varargs(shape)),
    "permute": lambda self, *axes: permute(self, _varargs(axes)),
    "transpose": lambda self, a=-2, b=-1: transpose(self, a, b),
    "flatten": lambda self, start=1: reshape(self, self.shape[:start] + (-1,)),
    "astype": lambda self, dtype: astype(self, dtype),
    "exp": lambda self: exp(self),
    "log": lambda self: log(self),
    "sqrt": lambda self: sqrt(self),
    "abs": lambda self: abs(self),
    "clamp": lambda self, lo=None, hi=None: clamp(self, lo, hi),
    "relu": lambda self: relu(self),
    "sigmoid": lambda self: sigmoid(self),
    "tanh": lambda self: tanh(self),
}
for _name, _method in _TENSOR_METHODS.items():
    _method.__name__, _method.__qualname__ = _name, f"Tensor.{_name}"
    setattr(_Tensor, _name, _method)
_Tensor.T = property(lambda self: transpose(self, -2, -1), doc="The last two axes swapped.")
del _name, _method
