"""Activations: elementwise nonlinearities and the (log-)softmax over an axis.

Parameters (slopes, alpha, beta) are turned into Python floats so that they
never promote float32 data to float64.
"""
from ..backend import array_module, elementwise
from ..tensor import Function, Tensor
from .shape import _axis


def _sigmoid(x):
    """1 / (1 + e^-x) without overflow: with e = e^-|x|, 1/(1+e) for x >= 0 and e/(1+e) below."""
    xp = array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


def _relu(x, out):
    return array_module(x).maximum(x, 0, out=out)


def _relu_grad(g, y, out):
    return array_module(g).multiply(g, y > 0, out=out)


class ReLU(Function):
    """y = max(x, 0);  dx = g [x > 0]. Param inplace: y is written over x's array."""
    def forward(self, x):
        self.y = elementwise(_relu, x, out=x if self.inplace else None)  # y > 0 exactly where x > 0
        return self.y

    def backward(self, g):
        return elementwise(_relu_grad, g, self.y)


def _times_slope(x, positive, slope, out):
    """out = x (1 where positive, slope elsewhere). For 0 <= slope <= 1 the factor is
    max(positive, slope), a select by arithmetic: np.where is several times slower on
    masks of random signs. Exact either way (x times 1 or one rounding of x slope)."""
    xp = array_module(x)
    if 0 <= slope <= 1:
        xp.maximum(positive, out.dtype.type(slope), out=out)
    else:
        out[...] = xp.where(positive, 1, slope)
    return xp.multiply(x, out, out=out)


class LeakyReLU(Function):
    """y = x for x > 0, s x otherwise (s = negative_slope);  dx = g (1 or s)."""
    def forward(self, x):
        xp, s = array_module(x), self.negative_slope
        self.positive = xp.empty(x.shape, bool)

        def leaky(x, positive, out):
            xp.greater(x, 0, out=positive)  # this piece of self.positive, kept for backward
            return _times_slope(x, positive, s, out)
        return elementwise(leaky, x, self.positive)

    def backward(self, g):
        s = self.negative_slope
        return elementwise(lambda g, positive, out: _times_slope(g, positive, s, out), g, self.positive)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dx = g y (1 - y)."""
    def forward(self, x):
        self.y = _sigmoid(x)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Tanh(Function):
    """y = tanh x;  dx = g (1 - y^2)."""
    def forward(self, x):
        self.y = array_module(x).tanh(x)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


class Softplus(Function):
    """y = (1/b) log(1 + e^(b x)), evaluated as (log1p(e^-|bx|) + max(bx, 0)) / b;
    y = x where b x > threshold (where the two agree to rounding).

    dx = g sigmoid(b x)  (g where b x > threshold).
    """
    def forward(self, x):
        xp = array_module(x)
        z = x * self.beta
        self.linear = z > self.threshold
        y = (xp.log1p(xp.exp(-xp.abs(z))) + xp.maximum(z, 0)) / self.beta
        self.slope = xp.where(self.linear, 1, _sigmoid(z)).astype(x.dtype, copy=False)
        return xp.where(self.linear, x, y)

    def backward(self, g):
        return g * self.slope


class ELU(Function):
    """y = x for x > 0, alpha (e^x - 1) otherwise (Clevert et al., 2016);
    dx = g for x > 0, g (y + alpha) otherwise."""
    def forward(self, x):
        xp = array_module(x)
        negative = self.alpha * xp.expm1(xp.minimum(x, 0))  # min: no overflow in the unused branch
        self.slope = xp.where(x > 0, 1, negative + self.alpha).astype(x.dtype, copy=False)
        return xp.where(x > 0, x, negative)

    def backward(self, g):
        return g * self.slope


class Softmax(Function):
    """y_i = e^(x_i - m) / sum_j e^(x_j - m) along ``axis`` (m = max x, for stability);
    dx = y (g - sum_j g_j y_j)."""
    def forward(self, x):
        e = array_module(x).exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, g):
        return self.y * (g - (g * self.y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - m - log sum_j e^(x_j - m) along ``axis`` (m = max x);
    dx = g - softmax(x) sum_j g_j, with softmax(x) = e^y."""
    def forward(self, x):
        xp = array_module(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        self.y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, g):
        return g - array_module(g).exp(self.y) * g.sum(axis=self.axis, keepdims=True)


def relu(x, inplace=False):
    """max(x, 0). With inplace=True the result is written over x's data, saving an array and
    a pass; for an x that nothing reads afterwards, such as a convolution's output inside a
    network (VGG does this). Refused for a leaf that requires grad (its value would be lost)
    and for an x that the op which made it keeps for its own backward (e.g. a sigmoid's output)."""
    if inplace and isinstance(x, Tensor):
        if x.requires_grad and x.is_leaf:
            raise ValueError("relu(inplace=True): x is a leaf that requires grad; it cannot be overwritten")
        creator = x._creator
        if creator is not None and any(v is x.data for v in vars(creator).values()):
            raise ValueError(f"relu(inplace=True): x is kept by {type(creator).__name__} for its backward; "
                             "overwriting it would corrupt that gradient")
    return ReLU.apply(x, inplace=bool(inplace))


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(x, negative_slope=float(negative_slope))


def sigmoid(x):
    return Sigmoid.apply(x)


def tanh(x):
    return Tanh.apply(x)


def softplus(x, beta=1.0, threshold=20.0):
    """Smooth relu (1/beta) log(1 + e^(beta x)); linear where beta x > threshold."""
    if beta <= 0:
        raise ValueError(f"softplus: beta must be positive, not {beta}")
    return Softplus.apply(x, beta=float(beta), threshold=float(threshold))


def elu(x, alpha=1.0):
    return ELU.apply(x, alpha=float(alpha))


def softmax(x, axis=-1):
    return Softmax.apply(x, axis=_axis(axis, x.ndim, "softmax"))


def log_softmax(x, axis=-1):
    return LogSoftmax.apply(x, axis=_axis(axis, x.ndim, "log_softmax"))


__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "elu", "softmax", "log_softmax"]
