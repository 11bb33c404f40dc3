"""minigen: generative ConvNets from scratch on a tiny autograd engine over NumPy and CuPy."""
__version__ = "0.1.0"

import os as _os

# OpenBLAS's idle threads spin for about 2^28 cycles (~0.1 s) after each GEMM before
# they sleep, holding the cores that minigen's own copy threads (backend.in_threads)
# need between GEMMs; let them sleep at once. OpenBLAS reads this when NumPy first
# loads it, so it takes effect only when minigen is imported before NumPy (as by the
# `minigen` command); a value already in the environment is kept.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from .backend import manual_seed, set_default_dtype, default_dtype, gpu_available  # noqa: F401
from .tensor import Tensor, Function, no_grad, tensor, zeros, ones, randn, rand  # noqa: F401
from . import functional  # noqa: F401
