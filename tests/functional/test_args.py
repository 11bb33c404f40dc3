"""The one int-or-pair check shared by the ops and the layers."""
import numpy as np
import pytest

import minigen.functional as F
from minigen import nn
from minigen.functional._args import int_arg, int_pair
from minigen.tensor import Tensor


def test_int_pair_reads_an_int_or_a_pair_and_refuses_the_rest():
    assert int_pair("op", "stride", 2) == (2, 2)
    assert int_pair("op", "stride", [1, np.int64(3)]) == (1, 3)
    for bad in (1.5, True, (1, 2, 3), (1, "2"), None):
        with pytest.raises(TypeError, match=r"^op: stride must be an int or a pair of ints, not "):
            int_pair("op", "stride", bad)
    with pytest.raises(ValueError, match=r"^op: padding must be >= 0, got \(1, -1\)$"):
        int_pair("op", "padding", (1, -1), minimum=0)
    with pytest.raises(TypeError, match=r"^op: groups must be an int, not 2\.0$"):
        int_arg("op", "groups", 2.0)


@pytest.mark.parametrize("call, who", [
    (lambda: F.conv2d(Tensor(np.zeros((1, 1, 4, 4))), Tensor(np.zeros((1, 1, 3, 3))), stride=1.5), "conv2d"),
    (lambda: F.max_pool2d(Tensor(np.zeros((1, 1, 4, 4))), 2, stride=1.5), "max_pool2d"),
    (lambda: nn.Conv2d(1, 1, 3, stride=1.5), "Conv2d"),
    (lambda: nn.ConvTranspose2d(1, 1, 3, stride=1.5), "ConvTranspose2d"),
])
def test_ops_and_layers_give_the_same_sentence(call, who):
    with pytest.raises(TypeError, match=rf"^{who}: stride must be an int or a pair of ints, not 1\.5$"):
        call()
