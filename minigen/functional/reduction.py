"""Reductions over any axes, with keepdims.

Each backward re-inserts the reduced axes (size 1) and lets broadcasting
spread the gradient back over them.
"""
from ..backend import array_module
from ..tensor import Function


def _axes(axis, ndim):
    """A tuple of non-negative axes (all axes for None)."""
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axis))


def _keep(g, axes, keepdims):
    """The gradient reshaped so it broadcasts against the input."""
    xp = array_module(g)
    return g if keepdims else xp.expand_dims(g, axes)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


class Sum(Function):
    """y = sum_{axes} x;  dx = g broadcast over the reduced axes."""
    def forward(self, x):
        self.shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = array_module(g)
        return xp.broadcast_to(_keep(g, self.axes, self.keepdims), self.shape)


class Mean(Function):
    """y = (1/n) sum_{axes} x;  dx = g / n."""
    def forward(self, x):
        self.shape = x.shape
        self.n = _count(x.shape, self.axes)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def backward(self, g):
        xp = array_module(g)
        return xp.broadcast_to(_keep(g, self.axes, self.keepdims) / self.n, self.shape)


class Var(Function):
    """y = sum (x - mean)^2 / (n - ddof);  dx = g 2 (x - mean) / (n - ddof)."""
    def forward(self, x):
        self.centred = x - x.mean(axis=self.axes, keepdims=True)
        self.denom = _count(x.shape, self.axes) - self.ddof
        return (self.centred ** 2).sum(axis=self.axes, keepdims=self.keepdims) / self.denom

    def backward(self, g):
        return _keep(g, self.axes, self.keepdims) * (2 / self.denom) * self.centred


class Max(Function):
    """y = max_{axes} x;  dx = g at the maxima, shared equally between ties."""
    def forward(self, x):
        y = x.max(axis=self.axes, keepdims=True)
        self.mask = x == y
        return y if self.keepdims else y.squeeze(self.axes)

    def backward(self, g):
        ties = self.mask.sum(axis=self.axes, keepdims=True)
        return _keep(g, self.axes, self.keepdims) * self.mask / ties


class LogSumExp(Function):
    """y = log sum_{axes} exp(x), computed as m + log sum exp(x - m);  dx = g softmax(x)."""
    def forward(self, x):
        xp = array_module(x)
        m = x.max(axis=self.axes, keepdims=True)
        e = xp.exp(x - m)
        s = e.sum(axis=self.axes, keepdims=True)
        self.softmax = e / s
        y = m + xp.log(s)
        return y if self.keepdims else y.squeeze(self.axes)

    def backward(self, g):
        return _keep(g, self.axes, self.keepdims) * self.softmax


def sum(x, axis=None, keepdims=False):  # noqa: A001 (the familiar name)
    return Sum.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return Mean.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims)


def var(x, axis=None, keepdims=False, unbiased=False):
    """Variance; biased (divide by n) unless ``unbiased`` (divide by n - 1)."""
    return Var.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims, ddof=int(unbiased))


def max(x, axis=None, keepdims=False):  # noqa: A001
    return Max.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    return LogSumExp.apply(x, axes=_axes(axis, x.ndim), keepdims=keepdims)


__all__ = ["sum", "mean", "var", "max", "logsumexp"]
