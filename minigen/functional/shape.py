"""Shape ops: reshape, permute, expand, concat/stack/split, indexing, flip, pad.

None of these does arithmetic: each output element is one input element (or a
constant), so every backward routes the gradient back to where the element
came from, summing where one input element fed several outputs (expand,
repeated integer indices, reflect/replicate padding).
"""
import numpy as np

from ..backend import array_module, is_cupy
from ..tensor import Function, Tensor


def _axis(axis, ndim, op):
    """``axis`` as a non-negative int, or a ValueError naming ``op``."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, not {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for {ndim}-d input")
    return int(axis) % ndim


def _along(ndim, axis, s):
    """An index tuple applying slice ``s`` along ``axis`` only."""
    index = [slice(None)] * ndim
    index[axis] = s
    return tuple(index)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


# ---- reshape, permute, expand --------------------------------------------------

class Reshape(Function):
    """y = x with a new shape (same elements in C order);  dx = g reshaped back."""
    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Function):
    """y = x with axes reordered, y.shape[i] = x.shape[axes[i]];  dx = g with the inverse order."""
    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):
        return g.transpose(tuple(int(a) for a in np.argsort(self.axes)))


class Expand(Function):
    """y = x broadcast to ``shape`` (a read-only view);  dx = g summed over the broadcast axes.

    The sum is the engine's unbroadcast, applied to every input gradient, so
    backward hands g back unchanged.
    """
    def forward(self, x):
        return array_module(x).broadcast_to(x, self.shape)

    def backward(self, g):
        return g


def _resolve_shape(shape, size, op):
    shape = [shape] if isinstance(shape, (int, np.integer)) else [int(s) for s in shape]
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1 or any(s < -1 for s in shape):
        raise ValueError(f"{op}: bad shape {tuple(shape)} (sizes >= 0 and at most one -1)")
    known = int(np.prod([s for s in shape if s != -1]))
    if unknown and known:
        shape[unknown[0]] = size // known
    if -1 in shape or int(np.prod(shape)) != size:
        raise ValueError(f"{op}: cannot view {size} elements as shape {tuple(shape)}")
    return tuple(shape)


def reshape(x, shape):
    """x with a new shape; one entry may be -1 (inferred)."""
    return Reshape.apply(x, shape=_resolve_shape(shape, x.size, "reshape"))


def permute(x, axes):
    """x with its axes reordered: output axis i is input axis axes[i]."""
    axes = tuple(int(a) + x.ndim if int(a) < 0 else int(a) for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Permute.apply(x, axes=axes)


def transpose(x, a=-2, b=-1):
    """x with axes a and b swapped."""
    a, b = _axis(a, x.ndim, "transpose"), _axis(b, x.ndim, "transpose")
    axes = list(range(x.ndim))
    axes[a], axes[b] = b, a
    return Permute.apply(x, axes=tuple(axes))


def expand(x, shape):
    """x broadcast to ``shape``; -1 keeps an existing dim, new dims may be added in front."""
    shape = tuple(int(s) for s in shape)
    extra = len(shape) - x.ndim
    out = list(shape[:extra]) + [n if s == -1 else s for n, s in zip(x.shape, shape[max(extra, 0):])]
    if extra < 0 or any(s < 0 for s in out) or any(n not in (1, s) for n, s in zip(x.shape, out[extra:])):
        raise ValueError(f"expand: cannot broadcast shape {x.shape} to {shape}")
    return Expand.apply(x, shape=tuple(out))


# ---- concat, stack, split ------------------------------------------------------

class Concat(Function):
    """y = [x_1, x_2, ...] joined along ``axis``;  dx_i = the slice of g that x_i filled."""
    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, g):
        bounds = np.cumsum([0] + self.sizes)
        return tuple(g[_along(g.ndim, self.axis, slice(lo, hi))] if need else None
                     for lo, hi, need in zip(bounds[:-1], bounds[1:], self.needs_input_grad))


class Split(Function):
    """y_i = x[..., offset_i : offset_i + sizes[i], ...] along ``axis``;  dx = [g_1, g_2, ...] joined.

    Outputs nobody used get zero gradients from the engine.
    """
    def forward(self, x):
        bounds = np.cumsum([0] + list(self.sizes))
        return tuple(x[_along(x.ndim, self.axis, slice(lo, hi))] for lo, hi in zip(bounds[:-1], bounds[1:]))

    def backward(self, *gs):
        return array_module(*gs).concatenate(gs, axis=self.axis)


def concat(tensors, axis=0):
    """The tensors joined along an existing axis (all other dims must match)."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concat: needs at least one tensor")
    axis = _axis(axis, tensors[0].ndim, "concat")
    rest = {t.shape[:axis] + t.shape[axis + 1:] if t.ndim == tensors[0].ndim else t.shape for t in tensors}
    if len(rest) > 1:
        raise ValueError(f"concat: shapes {[t.shape for t in tensors]} differ outside axis {axis}")
    return Concat.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """The tensors (all of one shape) joined along a new axis."""
    tensors = [_as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shape = tensors[0].shape
    if any(t.shape != shape for t in tensors):
        raise ValueError(f"stack: all tensors need one shape, got {[t.shape for t in tensors]}")
    axis = _axis(axis, len(shape) + 1, "stack")
    new = shape[:axis] + (1,) + shape[axis:]
    return concat([reshape(t, new) for t in tensors], axis)


def split(x, sizes_or_sections, axis=0):
    """A tuple of pieces of x along ``axis``.

    An int k gives pieces of size k (the last one smaller if k does not divide
    the dim); a list gives the size of each piece (they must add up to the dim).
    """
    axis = _axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(sizes_or_sections, (int, np.integer)):
        k = int(sizes_or_sections)
        if k < 1:
            raise ValueError(f"split: piece size must be >= 1, not {k}")
        sizes = [k] * (n // k) + ([n % k] if n % k else []) or [0]
    else:
        sizes = [int(s) for s in sizes_or_sections]
        if not sizes or any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the size of axis {axis}")
    return Split.apply(x, sizes=tuple(sizes), axis=axis)


# ---- indexing and flip -----------------------------------------------------------

class GetItem(Function):
    """y = x[index] (NumPy indexing);  dx = zeros with g added back at the indexed places.

    Basic indexing (ints, slices, Ellipsis, None) picks each element at most
    once, so dx[index] = g. Integer or boolean arrays may repeat an element;
    their gradient is a scatter-add done deterministically with bincount over
    the flat positions the index picked.
    """
    def forward(self, x):
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, g):
        xp = array_module(g)
        if not self.advanced:
            dx = xp.zeros(self.in_shape, g.dtype)
            dx[self.index] = g
            return dx
        size = int(np.prod(self.in_shape))
        picked = xp.arange(size).reshape(self.in_shape)[self.index]
        dx = xp.bincount(picked.reshape(-1), weights=g.reshape(-1), minlength=size)
        return dx.astype(g.dtype, copy=False).reshape(self.in_shape)


def _index(index, xp):
    """The index with tensors/lists turned into arrays of x's module; also whether it is advanced."""
    items = index if isinstance(index, tuple) else (index,)
    out, advanced = [], False
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        if isinstance(item, (list, np.ndarray)) or is_cupy(item):
            array = xp.asarray(item)
            if array.size == 0 and array.dtype.kind == "f":
                array = array.astype(np.intp)  # [] reads as float64
            if array.dtype.kind not in "iub":
                raise TypeError(f"getitem: index arrays must be integer or boolean, not {array.dtype}")
            item, advanced = array, True
        out.append(item)
    return tuple(out), advanced


def getitem(x, index):
    """x[index] with NumPy semantics: ints, slices (any step), Ellipsis, None, integer/boolean arrays."""
    index, advanced = _index(index, array_module(x.data))
    return GetItem.apply(x, index=index, advanced=advanced)


class Flip(Function):
    """y = x reversed along ``axes``;  dx = g reversed along the same axes."""
    def forward(self, x):
        return array_module(x).flip(x, self.axes)

    def backward(self, g):
        return array_module(g).flip(g, self.axes)


def flip(x, axes):
    """x reversed along one axis or a tuple of axes."""
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    axes = tuple(_axis(a, x.ndim, "flip") for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"flip: repeated axis in {axes}")
    return Flip.apply(x, axes=axes)


# ---- padding ---------------------------------------------------------------------

class Pad(Function):
    """Pad ``widths[axis] = (before, after)`` elements on each side of each axis.

    For input index range 0..n-1 along an axis, the padded value at position
    i (i < 0 or i >= n) is:

        constant:   value
        reflect:    x[-i] on the left, x[2(n-1) - i] on the right (the edge is not repeated)
        replicate:  x[0] on the left, x[n-1] on the right

    Backward folds the gradient of each padded border back onto the input
    elements it copied (zero for constant), one axis at a time.
    """
    def forward(self, x):
        xp = array_module(x)
        if self.mode == "constant":
            out = xp.full(tuple(n + a + b for n, (a, b) in zip(x.shape, self.widths)), self.value, x.dtype)
            out[self._centre(x.shape)] = x
            return out
        for axis, (before, after) in enumerate(self.widths):
            if before or after:
                x = xp.concatenate([self._border(x, axis, before, True), x,
                                    self._border(x, axis, after, False)], axis=axis)
        return x

    def backward(self, g):
        if self.mode == "constant":
            return g[self._centre(tuple(n - a - b for n, (a, b) in zip(g.shape, self.widths)))]
        xp = array_module(g)
        for axis, (before, after) in enumerate(self.widths):
            if before or after:
                g = self._fold(xp, g, axis, before, after)
        return g

    def _centre(self, in_shape):
        return tuple(slice(a, a + n) for n, (a, _) in zip(in_shape, self.widths))

    def _border(self, x, axis, width, left):
        xp, n = array_module(x), x.shape[axis]
        if self.mode == "reflect":
            part = slice(1, width + 1) if left else slice(n - 1 - width, n - 1)
            return xp.flip(x[_along(x.ndim, axis, part)], axis)
        edge = x[_along(x.ndim, axis, slice(0, 1) if left else slice(n - 1, n))]
        shape = list(x.shape)
        shape[axis] = width
        return xp.broadcast_to(edge, tuple(shape))

    def _fold(self, xp, g, axis, before, after):
        n = g.shape[axis] - before - after
        at = lambda s: _along(g.ndim, axis, s)  # noqa: E731
        left, right = g[at(slice(0, before))], g[at(slice(before + n, None))]
        dx = g[at(slice(before, before + n))].copy()
        if self.mode == "reflect":
            dx[at(slice(1, before + 1))] += xp.flip(left, axis)
            dx[at(slice(n - 1 - after, n - 1))] += xp.flip(right, axis)
        else:
            dx[at(slice(0, 1))] += left.sum(axis=axis, keepdims=True)
            dx[at(slice(n - 1, n))] += right.sum(axis=axis, keepdims=True)
        return dx


def pad(x, pads, mode="constant", value=0.0):
    """Pad the last dims of x: pads = (left, right) for the last dim, then (top, bottom) for the one before, ...

    So (l, r, t, b) pads W then H of an NCHW tensor. ``mode`` is 'constant'
    (fill with ``value``), 'reflect' (mirror without repeating the edge; each
    pad must be smaller than its dim) or 'replicate' (repeat the edge).
    """
    pads = tuple(pads)
    if len(pads) % 2 or len(pads) > 2 * x.ndim:
        raise ValueError(f"pad: pads {pads} must be (before, after) pairs for at most {x.ndim} dims")
    if any(not isinstance(p, (int, np.integer)) or p < 0 for p in pads):
        raise ValueError(f"pad: pads must be non-negative ints, got {pads}")
    if mode not in ("constant", "reflect", "replicate"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect' or 'replicate', not {mode!r}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pads) // 2):
        axis = x.ndim - 1 - i
        widths[axis] = (int(pads[2 * i]), int(pads[2 * i + 1]))
        n = x.shape[axis]
        if mode == "reflect" and max(widths[axis]) >= n:
            raise ValueError(f"pad: reflect padding {widths[axis]} must be smaller than the size {n} of axis {axis}")
        if mode == "replicate" and n == 0 and any(widths[axis]):
            raise ValueError(f"pad: cannot replicate the edge of an empty axis {axis}")
    return Pad.apply(x, widths=tuple(widths), mode=mode, value=float(value))


__all__ = ["reshape", "permute", "transpose", "expand", "concat", "stack", "split", "getitem",
           "flip", "pad"]
