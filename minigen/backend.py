"""Array backends: NumPy on the CPU, CuPy on the GPU.

Every op finds its array module from its data (``xp = array_module(x)``), so
one code path serves both devices wherever the maths is the same. CuPy is
optional and imported only when first needed.
"""
import ctypes
import functools
import os
import platform
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

_cupy = None
_cupy_checked = False


def cupy():
    """The cupy module, or None when it is not installed or sees no GPU."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy as cp
            if cp.cuda.runtime.getDeviceCount() > 0:
                _cupy = cp
        except Exception:  # not installed, no driver, no device
            _cupy = None
    return _cupy


def gpu_available():
    return cupy() is not None


def is_cupy(a):
    # Checked by type name so that NumPy-only machines never import cupy.
    return type(a).__module__.startswith("cupy")


def array_module(*arrays):
    """numpy or cupy, whichever holds the given arrays."""
    for a in arrays:
        if is_cupy(a):
            return cupy()
    return np


def device_of(a):
    return "cuda" if is_cupy(a) else "cpu"


def check_device(device):
    if device not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}: use 'cpu' or 'cuda'")
    if device == "cuda" and not gpu_available():
        raise RuntimeError("device 'cuda' asked for, but CuPy or a CUDA GPU is not available")
    return device


def to_device(a, device):
    """Move an array to 'cpu' (NumPy) or 'cuda' (CuPy); no copy if already there."""
    check_device(device)
    if device == device_of(a):
        return a
    if device == "cuda":
        return cupy().asarray(a)
    return cupy().asnumpy(a)


def to_host(a, copy=False):
    """A NumPy array of ``a``: an array (NumPy or CuPy) or anything holding one in ``.data``
    (a Tensor, a Parameter); ``copy`` gives an array that shares no memory with ``a``."""
    if not isinstance(a, np.ndarray) and not is_cupy(a):
        a = getattr(a, "data", a)
    host = cupy().asnumpy(a) if is_cupy(a) else np.asarray(a)
    return np.array(host, copy=True) if copy else host


# ---- CPU threads for memory passes -----------------------------------------------
# BLAS runs the GEMMs on every core; the copies around them (im2col, pooling,
# ReLU) are NumPy loops on one core unless split. NumPy releases the GIL inside
# its loops, so slices of one pass given to plain threads run at the same time.

PARALLEL_MIN_ELEMENTS = 1 << 18  # below this a pass runs in one piece (a thread hand-off costs ~50 us)
_pool, _pool_workers = None, 0
_pool_lock = threading.Lock()


def cpu_threads():
    """Threads for split passes: $MINIGEN_NUM_THREADS, else the cores this process may use."""
    value = os.environ.get("MINIGEN_NUM_THREADS")
    if value:
        return max(1, int(value))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def in_threads(fn, n, out):
    """fn(lo, hi) over contiguous pieces covering range(n), one per thread, the caller
    running the last; the pieces must write disjoint parts of ``out``, the array the
    pass fills, and must not call in_threads themselves. A small pass, n < 2 or a CuPy
    ``out`` runs as fn(0, n)."""
    global _pool, _pool_workers
    threads = 1 if is_cupy(out) else min(cpu_threads(), n, max(1, out.size // PARALLEL_MIN_ELEMENTS))
    if threads < 2:
        fn(0, n)
        return
    with _pool_lock:
        if _pool is None or _pool_workers < threads - 1:
            _pool, _pool_workers = ThreadPoolExecutor(threads - 1, thread_name_prefix="minigen"), threads - 1
        pool = _pool
    bounds = [n * i // threads for i in range(threads + 1)]
    futures = [pool.submit(fn, lo, hi) for lo, hi in zip(bounds[:-2], bounds[1:-1])]
    try:
        fn(bounds[-2], n)
    finally:
        wait(futures)  # no piece may still be writing when the caller moves on
    for f in futures:
        f.result()


def elementwise(fn, *arrays, out=None):
    """fn(*arrays, out=out) for elementwise fn, into ``out`` (one of the arrays, for an op in
    place) or a new array shaped like arrays[0]. For C-contiguous NumPy arrays of one shape
    the flat range is split between threads."""
    if out is None:
        out = array_module(*arrays).empty_like(arrays[0])
    if all(isinstance(a, np.ndarray) and a.flags.c_contiguous and a.shape == out.shape for a in arrays + (out,)):
        flat = [a.reshape(-1) for a in arrays + (out,)]
        in_threads(lambda lo, hi: fn(*[a[lo:hi] for a in flat[:-1]], out=flat[-1][lo:hi]), out.size, out)
    else:
        fn(*arrays, out=out)
    return out


def contiguous(a):
    """A C-contiguous copy of a NumPy array, split between threads along axis 0."""
    out = np.empty(a.shape, a.dtype)

    def copy(lo, hi):
        out[lo:hi] = a[lo:hi]
    in_threads(copy, len(out), out)
    return out


def _forget_pool():
    global _pool, _pool_workers
    _pool, _pool_workers = None, 0  # a forked child has no copies of the parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


# ---- dtype policy -------------------------------------------------------

_default_dtype = np.dtype(np.float32)


def default_dtype():
    """float32 unless changed; float64 is used by the gradient checks."""
    return _default_dtype


def set_default_dtype(dtype):
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"default dtype must be float32 or float64, not {dtype}")
    _default_dtype = dtype


# ---- random numbers -------------------------------------------------------

_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Seed minigen's generators (NumPy, and CuPy when present)."""
    global _rng
    _rng = np.random.default_rng(seed)
    if _cupy is not None:
        _cupy.random.seed(seed)


def rng():
    """The shared NumPy Generator (used by init, dropout and data)."""
    return _rng


def random_like(shape, dtype, device, kind="normal"):
    """Random array of a shape on a device, drawn from the shared generator."""
    a = _rng.standard_normal(shape) if kind == "normal" else _rng.random(shape)
    return to_device(a.astype(dtype, copy=False), device)


# ---- CUDA kernels ------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def kernel_module(family):
    """Compile ``kernels/<family>.cu`` once per process (CuPy caches across processes)."""
    cp = cupy()
    if cp is None:
        raise RuntimeError("CUDA kernels need CuPy and a GPU")
    from importlib import resources
    source = resources.files("minigen.kernels").joinpath(family + ".cu").read_text()
    return cp.RawModule(code=source, options=("--std=c++14",))


def kernel(family, name):
    """A compiled kernel function by family (file) and extern "C" name."""
    return kernel_module(family).get_function(name)


# ---- reusing freed memory ------------------------------------------------------------
# glibc's malloc gives each block over 32 MiB its own mmap and unmaps it on free, so the
# large activations of every training step are faulted in again page by page (and with
# transparent huge pages the kernel may stall compacting memory first). At 512 x 512 that
# costs more than the arithmetic of the norms and activations.

def keep_freed_memory():
    """Make glibc's malloc serve every block from its heap and never hand freed memory back
    to the system (mallopt M_MMAP_MAX = 0, M_TRIM_THRESHOLD = unlimited), so the next step
    reuses pages already mapped. The process then keeps its peak footprint until it exits.
    The minigen command calls this; MINIGEN_KEEP_MEMORY=0 turns it off. Returns whether it
    took effect (False off glibc)."""
    if os.environ.get("MINIGEN_KEEP_MEMORY", "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    m_trim_threshold, m_mmap_max = -1, -4  # from malloc.h; a threshold of -1 reads as SIZE_MAX
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, -1))
