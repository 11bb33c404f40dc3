"""Array backends: NumPy on the CPU, CuPy on the GPU.

Every op finds its array module from its data (``xp = array_module(x)``), so
one code path serves both devices wherever the maths is the same. CuPy is
optional and imported only when first needed.
"""
import functools

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
