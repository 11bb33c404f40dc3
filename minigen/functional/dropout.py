"""Dropout (Srivastava et al., 2014), in the inverted form used for training."""
from .. import backend
from ..tensor import Function


class Dropout(Function):
    """y = x m / (1 - p) with a fixed random mask m, m_i = 1 with probability 1 - p, else 0;
    dx = g m / (1 - p).

    Scaling the kept units at training time keeps E[y] = x, so evaluation
    uses x as it is. ``mask`` arrives already scaled, in x's dtype.
    """
    def forward(self, x):
        return x * self.mask

    def backward(self, g):
        return g * self.mask


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p); x itself when
    p == 0 or not training.

    The mask is drawn on the host from minigen's generator (``minigen.manual_seed``),
    so a seed gives the same mask on the CPU and the GPU.
    """
    p = float(p)  # a NumPy float64 p would promote float32 data
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), not {p}")
    if p == 0 or not training:
        return x
    keep = backend.rng().random(x.shape) >= p
    mask = backend.to_device(keep, x.device).astype(x.dtype) * (1 / (1 - p))
    return Dropout.apply(x, mask=mask)


__all__ = ["dropout"]
