"""Elementwise arithmetic with NumPy broadcasting.

Each backward returns the gradient at the broadcast shape; the engine sums it
back to each input's shape.
"""
import numpy as np

from ..backend import array_module
from ..tensor import Function, Tensor


def _operands(a, b):
    """Make both operands tensors; a Python/NumPy scalar takes the tensor's dtype."""
    if not isinstance(a, Tensor):
        a = Tensor(array_module(b.data).asarray(a, dtype=b.dtype))
    if not isinstance(b, Tensor):
        b = Tensor(array_module(a.data).asarray(b, dtype=a.dtype))
    return a, b


class Add(Function):
    """y = a + b;  da = g, db = g."""
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """y = a - b;  da = g, db = -g."""
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    """y = a * b;  da = g b, db = g a."""
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        da = g * self.b if self.needs_input_grad[0] else None
        db = g * self.a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  da = g / b, db = -g a / b^2 = -g y / b."""
    def forward(self, a, b):
        self.b = b
        self.y = a / b
        return self.y

    def backward(self, g):
        da = g / self.b if self.needs_input_grad[0] else None
        db = -g * self.y / self.b if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    """y = -x;  dx = -g."""
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Pow(Function):
    """y = x^p for a constant p;  dx = g p x^(p-1)."""
    def forward(self, x):
        self.x = x
        return x ** self.p

    def backward(self, g):
        return g * self.p * self.x ** (self.p - 1)


class Exp(Function):
    """y = e^x;  dx = g y."""
    def forward(self, x):
        self.y = array_module(x).exp(x)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln x;  dx = g / x."""
    def forward(self, x):
        self.x = x
        return array_module(x).log(x)

    def backward(self, g):
        return g / self.x


class Sqrt(Function):
    """y = sqrt(x);  dx = g / (2 y)."""
    def forward(self, x):
        self.y = array_module(x).sqrt(x)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |x|;  dx = g sign(x) (0 at x = 0)."""
    def forward(self, x):
        self.x = x
        return array_module(x).abs(x)

    def backward(self, g):
        return g * array_module(self.x).sign(self.x)


class Clamp(Function):
    """y = min(max(x, lo), hi);  dx = g where lo <= x <= hi, else 0."""
    def forward(self, x):
        xp = array_module(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            self.inside &= x >= self.lo
        if self.hi is not None:
            self.inside &= x <= self.hi
        return xp.clip(x, self.lo, self.hi)

    def backward(self, g):
        return g * self.inside


class Maximum(Function):
    """y = max(a, b);  the gradient goes to a where a >= b, else to b."""
    def forward(self, a, b):
        self.a_wins = a >= b
        return array_module(a).maximum(a, b)

    def backward(self, g):
        return g * self.a_wins, g * ~self.a_wins


class Minimum(Function):
    """y = min(a, b);  the gradient goes to a where a <= b, else to b."""
    def forward(self, a, b):
        self.a_wins = a <= b
        return array_module(a).minimum(a, b)

    def backward(self, g):
        return g * self.a_wins, g * ~self.a_wins


class Where(Function):
    """y = a where cond else b (cond is a constant boolean array);  da = g cond, db = g (1 - cond)."""
    def forward(self, a, b):
        return array_module(a).where(self.cond, a, b)

    def backward(self, g):
        return g * self.cond, g * ~self.cond


class AsType(Function):
    """y = x converted to another float dtype;  dx = g converted back."""
    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return g.astype(self.src)


def add(a, b): return Add.apply(*_operands(a, b))
def sub(a, b): return Sub.apply(*_operands(a, b))
def mul(a, b): return Mul.apply(*_operands(a, b))
def div(a, b): return Div.apply(*_operands(a, b))
def neg(x): return Neg.apply(x)
def exp(x): return Exp.apply(x)
def log(x): return Log.apply(x)
def sqrt(x): return Sqrt.apply(x)
def abs(x): return Abs.apply(x)  # noqa: A001 (the familiar name)
def maximum(a, b): return Maximum.apply(*_operands(a, b))
def minimum(a, b): return Minimum.apply(*_operands(a, b))


def pow(x, p):  # noqa: A001
    """x ** p for a constant exponent p."""
    if isinstance(p, Tensor):
        raise TypeError("pow: the exponent must be a number; for a tensor exponent use exp(p * log(x))")
    return Pow.apply(x, p=p)


def clamp(x, lo=None, hi=None):
    if lo is None and hi is None:
        raise ValueError("clamp: give lo, hi or both")
    return Clamp.apply(x, lo=lo, hi=hi)


def where(cond, a, b):
    """Select a where cond is true, else b; cond is a boolean array or tensor (no gradient)."""
    a, b = _operands(a, b)
    cond = cond.data if isinstance(cond, Tensor) else cond
    return Where.apply(a, b, cond=array_module(a.data).asarray(cond, dtype=bool))


def astype(x, dtype):
    return AsType.apply(x, dtype=np.dtype(dtype))


__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "abs", "clamp",
           "maximum", "minimum", "where", "astype"]
