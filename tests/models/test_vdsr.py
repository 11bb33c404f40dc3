"""VDSR: depth, residual output, He initialisation."""
import numpy as np
import pytest

from minigen import nn
from minigen.models.vdsr import VDSR
from minigen.tensor import Tensor


def test_twenty_layers_of_3x3_and_residual_learning():
    net = VDSR()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 20 and all(c.kernel_size == (3, 3) for c in convs)
    assert convs[0].weight.shape == (64, 1, 3, 3) and convs[-1].weight.shape == (1, 64, 3, 3)
    assert net.size_rule().minimum == 41
    # He et al.: std sqrt(2 / fan_in), fan_in = 64 * 9
    assert np.std(convs[5].weight.numpy()) == pytest.approx(np.sqrt(2 / 576), rel=0.05)


def test_output_is_input_plus_the_predicted_residual():
    net = VDSR(depth=4, width=8)
    x = np.random.default_rng(0).random((2, 1, 9, 9)).astype(np.float32)
    last = net.body[-1]
    last.weight.data[...] = 0
    last.bias.data[...] = 0.25
    np.testing.assert_allclose(net(Tensor(x)).numpy(), x + 0.25, atol=1e-6)
    with pytest.raises(ValueError):
        VDSR(depth=1)
