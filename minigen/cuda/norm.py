"""Batch and instance normalisation on the GPU (kernels/norm.cu).

minigen.functional.norm.Normalize calls these for CuPy arrays when the
statistics are per channel (batch norm: over N and the spatial axes) or per
sample and channel (instance norm: over the spatial axes; AdaIN and
conditional instance norm are compositions on top of it). Group norm keeps
the array code of the CPU path, which runs on CuPy as it is.

Reductions are split over several blocks per group when there are few
groups; the partial results (Welford count, mean, squared deviations; or
plain sums) are merged here with the pairwise formula

    n = sum n_s,  mean = sum n_s mean_s / n,  M2 = sum (M2_s + n_s (mean_s - mean)^2).
"""
from . import MAX_BLOCKS, THREADS, check_index, contiguous, i32, kernel, sm_count
from .. import backend

OP = "batch_norm/instance_norm (CUDA)"
MIN_PER_THREAD = 16   # elements each thread of a reduction block gets, at least
BLOCKS_PER_SM = 4     # enough blocks in flight to keep every multiprocessor busy


def _layout(x, per_sample):
    """(A, G, B): x seen as (A, G, B), one group per g (module docstring of kernels/norm.cu)."""
    n, c = x.shape[:2]
    s = x.size // (n * c)
    return (1, n * c, s) if per_sample else (n, c, s)


def _splits(groups, per_group):
    """Blocks per group for a reduction: enough blocks overall, and enough work for each."""
    wanted = -(-BLOCKS_PER_SM * sm_count() // groups)
    return max(1, min(wanted, -(-per_group // (THREADS * MIN_PER_THREAD))))


def _plane_launch(planes, s):
    """Block size and blocks per plane of the element-wise kernels (one or more blocks per plane)."""
    threads = min(THREADS, -(-s // 32) * 32)
    chunks = max(1, min(-(-s // (4 * threads)), -(-BLOCKS_PER_SM * sm_count() // planes)))
    return threads, chunks


def _affine(v, c, fill, dtype):
    cp = backend.cupy()
    return cp.full(c, fill, dtype) if v is None else contiguous(v)[0]


def moments(x, per_sample):
    """Mean and biased variance per group, each of shape (G,) in x's dtype."""
    cp = backend.cupy()
    (x,) = contiguous(x)
    check_index(OP, x)
    a, g, b = _layout(x, per_sample)
    splits = _splits(g, a * b)
    part = cp.empty((g, splits, 3), x.dtype)
    kernel("norm", OP, "norm_moments", x.dtype)(
        (min(g * splits, MAX_BLOCKS),), (THREADS,), (x, *i32(a, g, b, splits), part))
    count, mean, m2 = part[..., 0], part[..., 1], part[..., 2]
    if splits == 1:
        return mean[:, 0].copy(), m2[:, 0] / count[:, 0]
    total = count.sum(axis=1)
    merged = (count * mean).sum(axis=1) / total
    deviation = mean - merged[:, None]
    return merged, (m2 + count * deviation * deviation).sum(axis=1) / total


def normalize(x, mean, invstd, weight, per_sample, bias):
    """y = (x - mean) invstd weight + bias; mean and invstd per group (G,), weight and bias per
    channel (C,) or None."""
    cp = backend.cupy()
    x, mean, invstd = contiguous(x, mean, invstd)
    n, c = x.shape[:2]
    s = x.size // (n * c)
    threads, chunks = _plane_launch(n * c, s)
    y = cp.empty_like(x)
    kernel("norm", OP, "norm_forward", x.dtype)(
        (min(n * c * chunks, MAX_BLOCKS),), (threads,),
        (x, y, mean, invstd, _affine(weight, c, 1, x.dtype), _affine(bias, c, 0, x.dtype),
         *i32(n * c, c, s, per_sample, chunks)))
    return y


def normalize_backward(grad, x, mean, invstd, weight, per_sample, batch_stats, needs):
    """Gradients (dx, dweight, dbias) of normalize, each None unless asked for in `needs`.

    With batch statistics dx carries the terms through mean and variance:
    dx = weight invstd (g - mean(g) - xhat mean(g xhat)), means over the group.
    """
    cp = backend.cupy()
    need_x, need_w, need_b = needs
    grad, x, mean, invstd = contiguous(grad, x, mean, invstd)
    check_index(OP, x)
    n, c = x.shape[:2]
    a, g, b = _layout(x, per_sample)
    dx = dw = db = None
    if (need_x and batch_stats) or need_w or need_b:
        splits = _splits(g, a * b)
        part = cp.empty((g, splits, 2), x.dtype)
        kernel("norm", OP, "norm_backward_sums", x.dtype)(
            (min(g * splits, MAX_BLOCKS),), (THREADS,), (grad, x, mean, invstd, *i32(a, g, b, splits), part))
        sums = part.sum(axis=1)  # (G, 2): sum g, sum g xhat
        per_channel = sums.reshape(n, c, 2).sum(axis=0) if per_sample else sums
        if need_w:
            dw = per_channel[:, 1].copy()
        if need_b:
            db = per_channel[:, 0].copy()
    if need_x:
        s = x.size // (n * c)
        if batch_stats:
            mean_g, mean_gx = (cp.ascontiguousarray(sums[:, k] / (a * b)) for k in (0, 1))
        else:
            mean_g = mean_gx = mean  # not read
        threads, chunks = _plane_launch(n * c, s)
        dx = cp.empty_like(x)
        kernel("norm", OP, "norm_backward_input", x.dtype)(
            (min(n * c * chunks, MAX_BLOCKS),), (threads,),
            (grad, x, dx, mean, invstd, _affine(weight, c, 1, x.dtype), mean_g, mean_gx,
             *i32(batch_stats, n * c, c, s, per_sample, chunks)))
    return dx, dw, db
