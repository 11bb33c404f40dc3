"""Gradcheck cases: matmul (batch broadcasting, 1-D operands) and linear."""
from .. import functional as F
from . import case, inputs


def _matmul_case(name, a_shape, b_shape):
    @case(f"matmul/{name}")
    def _(rng):
        return F.matmul, inputs(rng.standard_normal(a_shape), rng.standard_normal(b_shape))


_matmul_case("matrix", (3, 4), (4, 2))
_matmul_case("batch-broadcast", (2, 1, 3, 4), (3, 4, 2))
_matmul_case("vector-vector", (5,), (5,))
_matmul_case("vector-batch", (3,), (2, 3, 4))
_matmul_case("batch-vector", (2, 4, 3), (3,))
_matmul_case("matrix-batch", (4, 3), (2, 3, 5))
_matmul_case("batch-matrix", (2, 4, 3), (3, 5))


@case("linear/bias")
def _(rng):
    return F.linear, inputs(rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5))


@case("linear/no-bias-vector")
def _(rng):
    return (lambda x, w: F.linear(x, w)), inputs(rng.standard_normal(4), rng.standard_normal((3, 4)))
