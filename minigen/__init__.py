"""minigen: generative ConvNets from scratch on a tiny autograd engine over NumPy and CuPy."""
__version__ = "0.1.0"

from .backend import manual_seed, set_default_dtype, default_dtype, gpu_available  # noqa: F401
from .tensor import Tensor, Function, no_grad, tensor, zeros, ones, randn, rand  # noqa: F401
from . import functional  # noqa: F401
