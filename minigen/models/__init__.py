"""Networks only, one file per paper; every model is registered (see ``registry``)."""
from .registry import SizeRule, build, check_size, kinds, register, spec  # noqa: F401
