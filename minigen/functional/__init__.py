"""Differentiable ops, one family per file; ``import minigen.functional as F``.

Names and arguments follow the familiar NCHW conventions (see DESIGN.md).
"""
from .arithmetic import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .matmul import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .sample import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .pixel_shuffle import *  # noqa: F401,F403
