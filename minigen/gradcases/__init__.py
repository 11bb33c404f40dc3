"""The named finite-difference cases behind ``minigen gradcheck`` and the tests.

Each family module registers cases with ``@case(name)``: a builder that takes
a NumPy Generator and returns ``(fn, inputs)`` in float64. ``run(case)``
returns a gradcheck Report, which records every Function class the case ran;
the test suite uses that record to prove every Function has a check.
"""
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck import gradcheck
from ..tensor import Tensor


@dataclass
class Case:
    name: str
    build: callable
    options: dict = field(default_factory=dict)  # passed on to gradcheck


CASES = {}


def case(name, **options):
    """Register ``build(rng) -> (fn, inputs)`` under ``name`` ('op/variant')."""
    def register(build):
        if name in CASES:
            raise ValueError(f"duplicate gradcheck case {name!r}")
        CASES[name] = Case(name, build, options)
        return build
    return register


def inputs(*arrays):
    """float64 tensors that require grad, from arrays (None stays None)."""
    return [None if a is None else Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
            for a in arrays]


def run(c, seed=0):
    fn, args = c.build(np.random.default_rng(seed))
    return gradcheck(fn, args, **c.options)


def select(name=None):
    """Cases whose name equals ``name`` or starts with ``name/`` (all when None)."""
    _load()
    if name is None:
        return list(CASES.values())
    return [c for n, c in CASES.items() if n == name or n.startswith(name + "/")]


def _load():
    from . import (arithmetic, reduction, shape, matmul, activation, dropout, conv,  # noqa: F401
                   norm, sample, pool, pixel_shuffle, losses, nn, models)
