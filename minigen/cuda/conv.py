"""conv2d and conv_transpose2d on the GPU: the im2col / col2im kernels of kernels/conv.cu around
cuBLAS GEMMs (cupy.matmul).

The two entry points mirror the CPU primitives of minigen.functional.conv,
which calls them for CuPy arrays (geometry and formulas are documented there):

    gather_gemm(x, geom, out_hw, weight, grad)   im2col of x, then Y = W @ cols and/or dW = G @ cols^T
    adjoint(gy, geom, in_hw, weight, x)          dx = col2im(W^T @ GY) and/or dW as above

so conv2d forward is a gather, its backward an adjoint, and conv_transpose2d
the other way round. The columns of a chunk of n images are laid out
(groups, Cg kH kW, n H_out W_out): one GEMM per group serves the whole chunk
(the batch folded into the long inner dimension), for Y, for dW and for the
columns of dx alike. The batch is processed in chunks whose column buffer
stays under `limit` bytes (COLUMN_LIMIT_BYTES of the CPU path) and whose
arrays stay under the kernels' 32-bit index limit.
"""
from . import INDEX_LIMIT, contiguous, i32, kernel, launch
from .. import backend
from ..errors import MinigenError

OP = "conv2d/conv_transpose2d (CUDA)"


def _chunks(n, cols_per_image, other_per_image, itemsize, limit):
    """Batch ranges under the column limit (at least one image each) and the index limit."""
    if cols_per_image > INDEX_LIMIT or other_per_image > INDEX_LIMIT:
        raise MinigenError(f"{OP}: one image needs a column buffer of {cols_per_image} elements "
                           f"({cols_per_image * itemsize / 2**30:.1f} GiB), beyond the 32-bit indices of the "
                           "CUDA kernels; use a smaller image or fewer channels")
    step = max(1, min(limit // max(1, cols_per_image * itemsize),
                      INDEX_LIMIT // max(1, cols_per_image, other_per_image)))
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)]


def _geometry_args(geom, shape, out_hw):
    """Kernel arguments n, C, H, W, kH, kW, sH, sW, dH, dW, top, left, H_out, W_out, n_stride, row_stride."""
    n = shape[0]
    ho, wo = out_hw
    return i32(*shape, *geom.kernel, *geom.stride, *geom.dilation, *geom.padding, ho, wo, ho * wo, n * ho * wo)


def _im2col(x, geom, out_hw):
    """cols (groups, Cg kH kW, n H_out W_out) of a contiguous chunk x (n, C, H, W)."""
    n, c = x.shape[:2]
    (kh, kw), (ho, wo) = geom.kernel, out_hw
    cols = backend.cupy().empty((geom.groups, c // geom.groups * kh * kw, n * ho * wo), x.dtype)
    launch(kernel("conv", OP, "im2col", x.dtype), n * c * ho * wo, (x, cols) + _geometry_args(geom, x.shape, out_hw))
    return cols


def _col2im(cols, geom, out, out_hw):
    """out (n, C, H, W), contiguous, = the adjoint of im2col applied to cols (a gather, no atomics)."""
    launch(kernel("conv", OP, "col2im", out.dtype), out.size, (cols, out) + _geometry_args(geom, out.shape, out_hw))


def _channels_first(y, groups):
    """(n, C, H, W) -> (groups, C / groups, n H W), the GEMM layout of an image or gradient."""
    cp = backend.cupy()
    return cp.ascontiguousarray(y.transpose(1, 0, 2, 3)).reshape(groups, y.shape[1] // groups, -1)


def _matmul(a, b):
    """a @ b batched over the group axis; one group as a 2-D GEMM, so that transposed views reach
    cuBLAS as transpose flags rather than copies."""
    cp = backend.cupy()
    if a.shape[0] == 1:
        return cp.matmul(a[0], b[0])[None]
    return cp.matmul(a, b)


def gather_gemm(x, geom, out_hw, weight, grad, limit):
    """The correlation of x with weight and/or the weight gradient for output gradient grad
    (each None when not asked for); as minigen.functional.conv._gather_gemm."""
    if weight is None and grad is None:
        return None, None
    cp = backend.cupy()
    x, weight, grad = contiguous(x, weight, grad)
    n, c = x.shape[:2]
    g, (kh, kw), (ho, wo) = geom.groups, geom.kernel, out_hw
    y = dw = None
    per_image = [c * x.shape[2] * x.shape[3]]
    if weight is not None:
        o = weight.shape[0]
        wmat = weight.reshape(g, o // g, -1)
        y = cp.empty((n, o, ho, wo), x.dtype)
        per_image.append(o * ho * wo)
    if grad is not None:
        dw = cp.zeros((g, grad.shape[1] // g, c // g * kh * kw), x.dtype)
        per_image.append(grad[0].size)
    for lo, hi in _chunks(n, c * kh * kw * ho * wo, max(per_image), x.itemsize, limit):
        cols = _im2col(x[lo:hi], geom, out_hw)
        if weight is not None and g == 1 and hi - lo == 1:
            cp.matmul(wmat[0], cols[0], out=y[lo].reshape(o, -1))  # already in NCHW order: no copy
        elif weight is not None:
            # (groups, C_out / groups, n H_out W_out) -> (n, C_out, H_out, W_out)
            y[lo:hi] = _matmul(wmat, cols).reshape(o, hi - lo, ho, wo).transpose(1, 0, 2, 3)
        if grad is not None:
            dw += _matmul(_channels_first(grad[lo:hi], g), cols.transpose(0, 2, 1))
    return y, (None if dw is None else dw.reshape(grad.shape[1], c // g, kh, kw))


def _scatter(gy, w, geom, in_hw, limit):
    """dx of the correlation with w for output gradient gy (contiguous): per chunk,
    cols = W^T @ GY (one GEMM per group), then col2im onto the image of size in_hw."""
    cp = backend.cupy()
    g, (kh, kw) = geom.groups, geom.kernel
    n, o, ho, wo = gy.shape
    c = w.shape[1] * g
    gx = cp.empty((n, c) + tuple(in_hw), gy.dtype)
    wmat = w.reshape(g, o // g, -1).transpose(0, 2, 1)
    cols_per_image = c * kh * kw * ho * wo
    for lo, hi in _chunks(n, cols_per_image, max(gy[0].size, gx[0].size), gy.itemsize, limit):
        cols = _matmul(wmat, _channels_first(gy[lo:hi], g))
        _col2im(cp.ascontiguousarray(cols), geom, gx[lo:hi], (ho, wo))
    return gx


def adjoint(gy, geom, in_hw, weight, x, limit):
    """For a correlation y = corr(x, weight) and an output gradient gy: dx onto size in_hw (when
    weight is given) and dw (when x is given); as minigen.functional.conv._adjoint."""
    gy, weight = contiguous(gy, weight)
    gx = None if weight is None else _scatter(gy, weight, geom, in_hw, limit)
    gw = None if x is None else gather_gemm(x, geom, gy.shape[2:], None, gy, limit)[1]
    return gx, gw
