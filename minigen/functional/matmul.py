"""Matrix products: matmul (NumPy semantics) and the fully connected layer."""
import numpy as np

from ..backend import array_module
from ..tensor import Function


def _product(p, q, operand_ndim):
    """p @ q for the gradient of an operand with ``operand_ndim`` dims.

    When that operand is a plain matrix and p, q carry the full batch shape,
    the batch sum is folded into one GEMM (tensordot); otherwise the batched
    product is returned and the engine sums the broadcast batch dims.
    """
    xp = array_module(p, q)
    if operand_ndim == 2 and p.ndim > 2 and p.shape[:-2] == q.shape[:-2]:
        batch = list(range(p.ndim - 2))
        return xp.tensordot(p, q, axes=(batch + [p.ndim - 1], batch + [q.ndim - 2]))
    return xp.matmul(p, q)


class MatMul(Function):
    """y = a @ b with NumPy semantics: y[..., i, j] = sum_k a[..., i, k] b[..., k, j].

    Leading (batch) dims broadcast; a 1-D a is a row vector and a 1-D b a column
    vector, their unit dim removed from y.  With a, b, g promoted to matrices:

        da = g @ b^T,    db = a^T @ g,

    each summed over the batch dims the operand was broadcast along, and the
    promoted unit dim dropped again.
    """
    def forward(self, a, b):
        self.a, self.b = a, b
        return array_module(a, b).matmul(a, b)

    def backward(self, g):
        xp = array_module(g)
        a = self.a[None, :] if self.a.ndim == 1 else self.a
        b = self.b[:, None] if self.b.ndim == 1 else self.b
        # Put back the unit dims y lost: the column of a vector b, then the row of a vector a.
        if self.b.ndim == 1:
            g = g[..., None]
        if self.a.ndim == 1:
            g = g[..., None, :]
        da = db = None
        if self.needs_input_grad[0]:
            da = _product(g, xp.swapaxes(b, -1, -2), a.ndim)
            da = da[..., 0, :] if self.a.ndim == 1 else da
        if self.needs_input_grad[1]:
            db = _product(xp.swapaxes(a, -1, -2), g, b.ndim)
            db = db[..., 0] if self.b.ndim == 1 else db
        return da, db


class Linear(Function):
    """y = x W^T + b, W of shape (out, in), b of shape (out,), any leading dims of x.

    With x and g flattened to rows X (N, in) and G (N, out):
        dX = G W,   dW = G^T X,   db = sum over rows of G.
    """
    def forward(self, x, w, b):
        self.x, self.w = x, w
        # Flattened to rows so that leading dims become one GEMM.
        y = (x.reshape(-1, x.shape[-1]) @ w.T).reshape(x.shape[:-1] + (w.shape[0],))
        return y if b is None else y + b

    def backward(self, g):
        rows = g.reshape(-1, g.shape[-1])
        dx = (rows @ self.w).reshape(self.x.shape) if self.needs_input_grad[0] else None
        dw = rows.T @ self.x.reshape(-1, self.x.shape[-1]) if self.needs_input_grad[1] else None
        db = rows.sum(axis=0) if self.needs_input_grad[2] else None
        return dx, dw, db


def matmul(a, b):
    """a @ b with NumPy's rules: batch dims broadcast, 1-D operands are vectors."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dim, got shapes {a.shape} and {b.shape}")
    k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: inner dims differ, shapes {a.shape} @ {b.shape}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dims do not broadcast, shapes {a.shape} @ {b.shape}") from None
    return MatMul.apply(a, b)


def linear(x, weight, bias=None):
    """x @ weight^T + bias, weight (out, in), bias (out,) or None; x of shape (..., in)."""
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input {x.shape} does not fit weight {weight.shape} (out, in)")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias shape {bias.shape} should be ({weight.shape[0]},)")
    return Linear.apply(x, weight, bias)


__all__ = ["matmul", "linear"]
