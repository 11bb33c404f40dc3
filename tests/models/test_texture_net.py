"""Ulyanov et al.'s multi-scale texture generator: scales, widths, any output size, content input."""
import numpy as np
import pytest

from minigen import nn
from minigen.models.texture_net import TextureNet
from minigen.tensor import Tensor


def test_noise_pyramid_and_widths():
    net = TextureNet(num_scales=5, channels=8)
    z = net.noise(2, 32, 48, np.random.default_rng(0))
    assert [t.shape for t in z] == [(2, 3, 32 >> k, 48 >> k) for k in range(5)]
    assert all(0 <= t.data.min() and t.data.max() <= 1 for t in z)
    assert [j[0].weight.shape[0] for j in net.joins] == [16, 24, 32, 40]  # +8 channels per scale
    assert net.out.weight.shape == (3, 40, 1, 1)
    kernels = [m.kernel_size for m in net.blocks[0] if isinstance(m, nn.Conv2d)]
    assert kernels == [(3, 3), (3, 3), (1, 1)]
    assert sum(isinstance(m, nn.LeakyReLU) for m in net.blocks[0]) == 3


def test_any_size_multiple_of_the_coarsest_scale():
    net = TextureNet(num_scales=3, channels=4)
    rng = np.random.default_rng(0)
    for h, w in ((8, 8), (12, 20)):
        assert net(net.noise(1, h, w, rng)).shape == (1, 3, h, w)
    with pytest.raises(ValueError, match="multiple of 4"):
        net.noise(1, 10, 8, rng)


def test_content_input_changes_the_output_and_is_required():
    rng = np.random.default_rng(1)
    net = TextureNet(num_scales=2, channels=4, content=True, norm="instance")
    z = net.noise(1, 8, 8, rng)
    a = net(z, Tensor(rng.random((1, 3, 8, 8)).astype(np.float32)))
    b = net(z, Tensor(rng.random((1, 3, 8, 8)).astype(np.float32)))
    assert a.shape == (1, 3, 8, 8) and not np.allclose(a.data, b.data)
    with pytest.raises(ValueError, match="content image"):
        net(z)
    with pytest.raises(ValueError, match="expected 2 noise"):
        net(z[:1], a)


def test_config_rebuilds_the_same_network():
    net = TextureNet(num_scales=3, channels=2, norm="instance", slope=0.2)
    twin = TextureNet(**net.config())
    twin.load_state_dict(net.state_dict())
    z = net.noise(1, 8, 8, np.random.default_rng(2))
    np.testing.assert_array_equal(net(z).data, twin(z).data)
