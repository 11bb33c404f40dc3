"""SRCNN: the 9-1-5 / 9-5-5 layouts, size-keeping padding, receptive field."""
import numpy as np

from minigen.models.srcnn import SRCNN, VARIANTS
from minigen.tensor import Tensor


def test_layouts_and_parameter_counts():
    net = SRCNN(kernels=VARIANTS["srcnn"])
    shapes = [p.shape for p in net.parameters()]
    assert shapes == [(64, 1, 9, 9), (64,), (32, 64, 1, 1), (32,), (1, 32, 5, 5), (1,)]
    assert sum(int(np.prod(s)) for s in shapes) == 8129  # the paper's 9-1-5 network: 8,032 weights + biases
    assert SRCNN(kernels=VARIANTS["srcnn-955"]).body[2].weight.shape == (32, 64, 5, 5)
    assert net.size_rule().minimum == 13


def test_output_keeps_the_size_and_replicates_borders():
    net = SRCNN(kernels=(3, 1, 3), n1=4, n2=2)
    x = np.random.default_rng(0).random((2, 1, 7, 9)).astype(np.float32)
    assert net(Tensor(x)).shape == (2, 1, 7, 9)
    # a constant image gives a constant output: replicated borders look like the interior
    flat = net(Tensor(np.full((1, 1, 6, 6), 0.5, np.float32))).numpy()
    np.testing.assert_allclose(flat, flat[0, 0, 0, 0], atol=1e-6)
