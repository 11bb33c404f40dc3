"""Gradcheck cases: dropout.

The mask is random, so the case reseeds minigen's generator inside ``fn``:
every evaluation (the backward pass and each finite-difference step) then
draws the same mask and the function checked is one fixed linear map.
"""
import minigen

from .. import functional as F
from . import case, inputs


@case("dropout")
def _(rng):
    def fn(x):
        minigen.manual_seed(0)
        return F.dropout(x, p=0.3)
    return fn, inputs(rng.standard_normal((4, 6)))
