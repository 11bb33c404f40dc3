"""Launch wrappers of minigen's CUDA kernels (kernels/*.cu), one module per family.

The functional ops call these when their inputs are CuPy arrays; nothing here
is imported on a NumPy-only run. Each wrapper makes its inputs contiguous,
checks them, picks the float32 or float64 kernel, and passes every scalar as
a NumPy int32 / float32 / float64: CuPy packs kernel arguments by their
Python type and does not check them against the kernel's signature, so a
plain Python int would be passed as 64 bits.
"""
import numpy as np

from .. import backend
from ..errors import MinigenError

# Kernels index with 32-bit ints: no array a launch touches may reach 2^31 elements.
INDEX_LIMIT = 2**31 - 1
THREADS = 256
# 1-D grids only (the x dimension allows 2^31 - 1 blocks; y and z would stop at 65535); every
# kernel loops grid-stride, so a capped grid still covers any size.
MAX_BLOCKS = 65535 * 8

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def suffix(op, dtype):
    """'f32' or 'f64', the kernel variant for dtype; anything else is refused."""
    try:
        return _SUFFIX[np.dtype(dtype)]
    except KeyError:
        raise MinigenError(f"{op}: the CUDA kernels take float32 or float64, not {np.dtype(dtype)}") from None


def kernel(family, op, name, dtype):
    """The compiled kernel `name`_f32 / `name`_f64 of kernels/<family>.cu."""
    return backend.kernel(family, f"{name}_{suffix(op, dtype)}")


def check_index(op, *sizes):
    """Refuse, in one line, an array of INDEX_LIMIT elements or more (sizes: ints or arrays)."""
    for s in sizes:
        n = int(getattr(s, "size", s))
        if n > INDEX_LIMIT:
            raise MinigenError(f"{op}: an array of {n} elements is too large for the CUDA kernels "
                               f"(32-bit indices: at most {INDEX_LIMIT}); split the batch")


def contiguous(*arrays):
    """C-contiguous CuPy arrays (None stays None); a copy only where needed."""
    cp = backend.cupy()
    return tuple(None if a is None else cp.ascontiguousarray(a) for a in arrays)


def i32(*values):
    return tuple(np.int32(v) for v in values)


def blocks(items, per_block=THREADS):
    """Grid size for `items` units of work, per_block to a block, capped at MAX_BLOCKS."""
    return max(1, min(MAX_BLOCKS, -(-int(items) // per_block)))


def launch(fn, items, args, threads=THREADS, per_block=None):
    """Run fn over `items` units of work (per_block of them to a block; default: one per thread)."""
    fn((blocks(items, per_block or threads),), (threads,), args)


def sm_count():
    """Streaming multiprocessors of the current device (sizes the split reductions)."""
    cp = backend.cupy()
    return cp.cuda.Device().attributes["MultiProcessorCount"]
