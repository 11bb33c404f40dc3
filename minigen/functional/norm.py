"""Normalisation: batch, instance and group norm, AdaIN, conditional instance norm.

The three norms are one computation over different groups of values: x is
seen in the shape ``view`` and its statistics are taken over ``axes`` of it,

    batch norm      view = x.shape         axes = (0, 2, 3, ...)   per channel
    instance norm   view = x.shape         axes = (2, 3, ...)      per sample and channel
    group norm      view = (N, G, -1)      axes = (2,)             per sample and group of C/G channels

    mu = mean(x),  var = mean((x - mu)^2),  xhat = (x - mu) / sqrt(var + eps)
    y = gamma_c xhat + beta_c                (per-channel affine, optional)

Statistics take two passes (the mean, then the mean squared deviation), so a
large offset does not cancel catastrophically, and stay in x's dtype. On the
CPU the work goes in blocks of axis 1 of the view (channels, or groups), which
the statistics never mix: each block is read from memory once and its later
passes run in the cache, and the blocks are split between threads.
AdaIN and conditional instance norm are compositions on top of instance norm.
For CuPy arrays, batch and instance norm run in the kernels of
minigen.cuda.norm (one-pass Welford statistics); group norm runs this code.
"""
import numpy as np

from ..backend import array_module, in_threads, is_cupy, to_device, to_host
from ..tensor import Function, Tensor
from .arithmetic import sqrt
from .reduction import mean, var


def _channel_shape(ndim, c):
    """(1, C, 1, ...): a per-channel vector broadcast against an (N, C, ...) array."""
    return (1, c) + (1,) * (ndim - 2)


def _update_running(running_mean, running_var, momentum, mu, var, n):
    """r <- (1 - momentum) r + momentum * batch statistic, in place; the variance unbiased."""
    if running_mean is not None:
        running_mean[...] = (1 - momentum) * running_mean + momentum * mu.reshape(running_mean.shape)
    if running_var is not None:
        unbiased = var.reshape(running_var.shape) * (n / (n - 1))
        running_var[...] = (1 - momentum) * running_var + momentum * unbiased


BLOCK_BYTES = 1 << 20  # a block's values stay in the cache across the passes over them


def _blocks(fn, view, out):
    """fn(lo, hi) over blocks of axis 1 of ``view`` (channels, or groups of them) of about
    BLOCK_BYTES of ``out`` each, split between the CPU threads (one block for CuPy).

    The statistics never mix indices of that axis, so the blocks are independent:
    each is read from memory once, its later passes hit the cache, and the
    temporaries are block-sized rather than image-sized."""
    if is_cupy(out):
        fn(0, view[1])
        return
    step = max(1, BLOCK_BYTES // max(1, out.nbytes // view[1]))

    def piece(lo, hi):
        for b in range(lo, hi, step):
            fn(b, min(hi, b + step))
    in_threads(piece, view[1], out)


class Normalize(Function):
    """y = gamma_c xhat + beta_c,  xhat = (x - mu) / sigma,  sigma = sqrt(var + eps),
    mu and var over ``axes`` of x reshaped to ``view`` (module docstring).

    With ghat = g gamma_c and means over the same group of values,
        dx     = (ghat - mean(ghat) - xhat mean(ghat xhat)) / sigma    (batch statistics)
        dx     = ghat / sigma                                          (fixed statistics)
        dgamma = sum_{all but C} g xhat,    dbeta = sum_{all but C} g
    The first line carries the gradient through mu and sigma (Ioffe & Szegedy
    2015); where gamma is constant over a group (batch and instance norm) it is
    (gamma / sigma) (g - mean(g) - xhat mean(g xhat)).

    Params: view, axes, eps;
    stats: None (the batch's own statistics) or (mean, var) arrays in x's
        dtype broadcasting against x (fixed: batch norm in eval mode);
    running: None or (running_mean, running_var, momentum): arrays (either may
        be None) updated in place from the batch statistics, the variance
        unbiased (times n / (n - 1)).
    """

    def forward(self, x, weight, bias):
        xp = array_module(x)
        self.kernels = None
        if is_cupy(x) and x.size and tuple(self.view) == x.shape:  # batch and instance norm: kernels/norm.cu
            return self._forward_cuda(xp, x, weight, bias)
        xv = x.reshape(self.view)
        self.shape_view = view = xv.shape
        kept = tuple(1 if a in self.axes else n for a, n in enumerate(view))
        if self.stats is None:
            mu, v = xp.empty(kept, x.dtype), xp.empty(kept, x.dtype)
        else:
            mu, v = (s.reshape(kept) for s in self.stats)
        self.inv_std, self.xhat, self.weight = xp.empty(kept, x.dtype), xp.empty(x.shape, x.dtype), weight
        y = self.xhat if weight is None and bias is None else xp.empty(x.shape, x.dtype)
        hv, per = self.xhat.reshape(view), x.shape[1] // view[1]

        def block(lo, hi):
            # two-pass statistics (the mean, then the mean squared deviation)
            if self.stats is None:
                mu[:, lo:hi] = xv[:, lo:hi].mean(axis=self.axes, keepdims=True)
            d = xp.subtract(xv[:, lo:hi], mu[:, lo:hi], out=hv[:, lo:hi])
            if self.stats is None:
                v[:, lo:hi] = (d * d).mean(axis=self.axes, keepdims=True)
            self.inv_std[:, lo:hi] = 1 / xp.sqrt(v[:, lo:hi] + self.eps)
            d *= self.inv_std[:, lo:hi]
            if y is not self.xhat:  # the affine is per channel: this block's channels
                c0, c1 = lo * per, hi * per
                cs = _channel_shape(x.ndim, c1 - c0)
                if weight is None:
                    y[:, c0:c1] = self.xhat[:, c0:c1]
                else:
                    xp.multiply(self.xhat[:, c0:c1], weight[c0:c1].reshape(cs), out=y[:, c0:c1])
                if bias is not None:
                    y[:, c0:c1] += bias[c0:c1].reshape(cs)
        _blocks(block, view, self.xhat)
        if self.stats is None and self.running is not None:
            _update_running(*self.running, mu, v, x.size // mu.size)
        return y

    def _forward_cuda(self, xp, x, weight, bias):
        """The same computation in the kernels of minigen.cuda.norm; saves x, not xhat."""
        from ..cuda import norm as kernels
        per_sample = 0 not in self.axes
        if self.stats is None:
            mu, v = kernels.moments(x, per_sample)
            if self.running is not None:
                _update_running(*self.running, mu, v, x.size // mu.size)
        else:
            mu, v = (s.reshape(-1) for s in self.stats)
        self.kernels = (x, mu, 1 / xp.sqrt(v + self.eps), weight, per_sample)
        return kernels.normalize(*self.kernels, bias)

    def backward(self, g):
        if self.kernels is not None:
            from ..cuda import norm as kernels
            return kernels.normalize_backward(g, *self.kernels, self.stats is None, self.needs_input_grad)
        xp, (need_x, need_w, need_b) = array_module(g), self.needs_input_grad
        view, fixed, c = self.shape_view, self.stats is not None, g.shape[1]
        reduced, per, hv = (0,) + tuple(range(2, g.ndim)), c // view[1], self.xhat.reshape(view)
        dx = xp.empty(g.shape, g.dtype) if need_x else None
        dw = xp.empty(c, g.dtype) if need_w else None
        db = xp.empty(c, g.dtype) if need_b else None

        def block(lo, hi):
            c0, c1 = lo * per, hi * per
            gb = g[:, c0:c1]
            if need_w:
                dw[c0:c1] = (gb * self.xhat[:, c0:c1]).sum(axis=reduced)
            if need_b:
                db[c0:c1] = gb.sum(axis=reduced)
            if need_x:
                ghat = gb if self.weight is None else gb * self.weight[c0:c1].reshape(_channel_shape(g.ndim, c1 - c0))
                ghat, xhat = ghat.reshape((g.shape[0], hi - lo) + view[2:]), hv[:, lo:hi]
                if not fixed:
                    slope = (ghat * xhat).mean(axis=self.axes, keepdims=True)
                    ghat = ghat - ghat.mean(axis=self.axes, keepdims=True)
                    ghat -= xhat * slope
                xp.multiply(ghat, self.inv_std[:, lo:hi], out=dx.reshape(view)[:, lo:hi])
        _blocks(block, view, g)
        return dx, dw, db


# ---- argument checks -----------------------------------------------------------

def _as_tensor(x, op, what):
    t = x if isinstance(x, Tensor) else Tensor(x)
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be floating point, not {t.dtype}")
    return t


def _check_input(x, op, min_ndim, layout):
    x = _as_tensor(x, op, "input")
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: input must be {layout}, got shape {x.shape}")
    return x


def _check_vector(v, op, what, c):
    """A per-channel vector (C,) or None; raw arrays and Tensors alike."""
    if v is None:
        return
    shape = v.shape if hasattr(v, "shape") else np.shape(v)
    if tuple(shape) != (c,):
        raise ValueError(f"{op}: {what} must have shape ({c},) for {c} channels, got {tuple(shape)}")


def _raw(a):
    return a.data if isinstance(a, Tensor) else a


# ---- public API ------------------------------------------------------------------

def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalisation of x (N, C, ...) per channel over N and the spatial axes.

    training: normalise with the batch mean and biased variance and update
    running_mean / running_var (arrays or Tensors, or None) in place:
    r = (1 - momentum) r + momentum * batch statistic, with the unbiased
    variance for running_var. Otherwise normalise with the running statistics.
    """
    x = _check_input(x, "batch_norm", 2, "(N, C) or (N, C, ...)")
    c = x.shape[1]
    for what, v in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        _check_vector(v, "batch_norm", what, c)
    axes = (0,) + tuple(range(2, x.ndim))
    if training:
        if x.size // c < 2:
            raise ValueError(f"batch_norm: training needs more than one value per channel, got input shape {x.shape}")
        running = None
        if running_mean is not None or running_var is not None:
            running = (_raw(running_mean), _raw(running_var), momentum)
        return Normalize.apply(x, weight, bias, view=x.shape, axes=axes, eps=eps, stats=None, running=running)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: evaluation (training=False) needs running_mean and running_var")
    xp, cs = array_module(x.data), _channel_shape(x.ndim, c)
    stats = tuple(xp.asarray(_raw(r), dtype=x.dtype).reshape(cs) for r in (running_mean, running_var))
    return Normalize.apply(x, weight, bias, view=x.shape, axes=axes, eps=eps, stats=stats, running=None)


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016): x (N, C, ...) per sample and channel over the spatial axes."""
    x = _check_input(x, "instance_norm", 3, "(N, C, H, W) or (N, C, ...)")
    for what, v in (("weight", weight), ("bias", bias)):
        _check_vector(v, "instance_norm", what, x.shape[1])
    return Normalize.apply(x, weight, bias, view=x.shape, axes=tuple(range(2, x.ndim)), eps=eps,
                           stats=None, running=None)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation (Wu & He 2018): x (N, C, ...) per sample over groups of C / num_groups channels
    and the spatial axes; the affine stays per channel."""
    x = _check_input(x, "group_norm", 2, "(N, C) or (N, C, ...)")
    c = x.shape[1]
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"group_norm: num_groups must be an integer, not {type(num_groups).__name__}")
    if num_groups < 1 or c % num_groups:
        raise ValueError(f"group_norm: num_groups={num_groups} must be positive and divide the {c} channels")
    for what, v in (("weight", weight), ("bias", bias)):
        _check_vector(v, "group_norm", what, c)
    return Normalize.apply(x, weight, bias, view=(x.shape[0], int(num_groups), -1), axes=(2,), eps=eps,
                           stats=None, running=None)


def adain(content, style, eps=1e-5):
    """Adaptive instance normalisation (Huang & Belongie 2017):

        AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y)

    mu and sigma per sample and channel over the spatial axes, with
    sigma = sqrt(biased variance + eps) for both content and style. The sizes
    of content and style may differ; style's N is N of content or 1 (one
    style for the batch). Differentiable in both content and style.
    """
    content = _check_input(content, "adain", 3, "(N, C, H, W) or (N, C, ...)")
    style = _check_input(style, "adain", 3, "(N, C, H, W) or (N, C, ...)")
    if style.ndim != content.ndim or style.shape[1] != content.shape[1] or style.shape[0] not in (1, content.shape[0]):
        raise ValueError(f"adain: style {style.shape} must match content {content.shape} in the number of axes "
                         "and channels, and have the same batch size or 1")
    if style.dtype != content.dtype:
        raise TypeError(f"adain: content is {content.dtype} but style is {style.dtype}")
    axes = tuple(range(2, style.ndim))
    sigma = sqrt(var(style, axes, keepdims=True) + eps)
    return instance_norm(content, eps=eps) * sigma + mean(style, axes, keepdims=True)


def _style_weights(styles, n, s, like):
    """Mixing weights (N, S) as a Tensor in ``like``'s dtype and device; indices become one-hot rows."""
    op = "conditional_instance_norm"
    host = to_host(styles)  # validated on the host, whatever the device
    if host.dtype.kind in "iu":
        if host.shape != (n,):
            raise ValueError(f"{op}: style indices must have shape ({n},), got {host.shape}")
        if host.size and (host.min() < 0 or host.max() >= s):
            raise ValueError(f"{op}: style indices must lie in [0, {s}), got {host.min()}..{host.max()}")
        return Tensor(to_device(np.eye(s, dtype=like.dtype)[host], like.device))
    if host.dtype.kind != "f":
        raise TypeError(f"{op}: styles must be integer indices (N,) or float weights (N, S), not {host.dtype}")
    if host.shape != (n, s):
        raise ValueError(f"{op}: style weights must have shape ({n}, {s}), got {host.shape}")
    if isinstance(styles, Tensor):
        return styles  # keeps its graph: the weights may themselves be learnt or interpolated
    return Tensor(to_device(host.astype(like.dtype), like.device))


def conditional_instance_norm(x, gamma, beta, styles, eps=1e-5):
    """Conditional instance normalisation (Dumoulin et al. 2017): one (gamma, beta) row per style,

        y_n = gamma_n * IN(x_n) + beta_n,   gamma_n = sum_s w_ns gamma_s,  beta_n = sum_s w_ns beta_s

    x (N, C, ...); gamma, beta (S, C); styles: integer indices (N,) (one-hot
    w) or float mixing weights (N, S) (normally a convex combination; not
    enforced, so styles can also be extrapolated). Gradients reach x, gamma,
    beta and weights given as Tensors.
    """
    op = "conditional_instance_norm"
    x = _check_input(x, op, 3, "(N, C, H, W) or (N, C, ...)")
    gamma, beta = _as_tensor(gamma, op, "gamma"), _as_tensor(beta, op, "beta")
    n, c = x.shape[:2]
    if gamma.ndim != 2 or gamma.shape[1] != c or beta.shape != gamma.shape:
        raise ValueError(f"{op}: gamma and beta must both have shape (S, {c}), got {gamma.shape} and {beta.shape}")
    w = _style_weights(styles, n, gamma.shape[0], x)
    rows = (n, c) + (1,) * (x.ndim - 2)
    return instance_norm(x, eps=eps) * (w @ gamma).reshape(rows) + (w @ beta).reshape(rows)


__all__ = ["batch_norm", "instance_norm", "group_norm", "adain", "conditional_instance_norm"]
