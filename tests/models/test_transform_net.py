"""Johnson et al.'s transform net: the supplementary table's layers and sizes, both variants."""
import numpy as np
import pytest

from minigen import functional as F
from minigen import nn
from minigen.models.transform_net import TransformNet
from minigen.tensor import Tensor


def _x(rng, n, h, w):
    return Tensor(rng.random((n, 3, h, w)).astype(np.float32))


def test_paper_widths_and_kernels():
    net = TransformNet("batch")
    convs = [(m.weight.shape, m.stride) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert convs[:3] == [((32, 3, 9, 9), (1, 1)), ((64, 32, 3, 3), (2, 2)), ((128, 64, 3, 3), (2, 2))]
    assert convs[3:13] == [((128, 128, 3, 3), (1, 1))] * 10  # five residual blocks of two convs
    assert convs[13:] == [((128, 64, 3, 3), (2, 2)), ((64, 32, 3, 3), (2, 2)), ((3, 32, 9, 9), (1, 1))]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 15  # every conv but the last
    assert net.border == 40


def test_table_sizes_at_256():
    """3x256x256 -> pad 336 -> 336, 168, 84 -> blocks 80, 76, 72, 68, 64 -> 128 -> 256 (small widths, same sizes)."""
    net = TransformNet("instance", channels=(2, 3, 4))
    x = F.pad(_x(np.random.default_rng(0), 1, 256, 256), (40,) * 4, mode="reflect")
    sizes = [x.shape[2]]
    for layer in (*net.down, *net.res, *net.up):
        x = layer(x)
        sizes.append(x.shape[2])
    assert sizes == [336, 336, 168, 84, 80, 76, 72, 68, 64, 128, 256]
    assert net.out(x).shape == (1, 3, 256, 256)


@pytest.mark.parametrize("padded, size", [(False, (44, 52)), (True, (8, 12))])
def test_output_size_equals_input_size_and_range(rng, padded, size):
    net = TransformNet("instance", channels=(4, 4, 4), num_residual=1, padded=padded)
    y = net(_x(rng, 2, *size))
    assert y.shape == (2, 3) + size
    lo, hi = 0.5 - 150 / 255, 0.5 + 150 / 255
    assert lo <= y.data.min() and y.data.max() <= hi


def test_output_scale_127_5_maps_onto_unit_interval(rng):
    net = TransformNet("instance", channels=(2, 2, 2), num_residual=0, padded=True, output_scale=127.5)
    net.out.bias.data[...] = 50.0  # saturate the tanh
    assert np.allclose(net(_x(rng, 1, 8, 8)).data, 1.0)


def test_residual_block_crops_the_skip_by_two_pixels(rng):
    net = TransformNet("instance", channels=(2, 2, 3), num_residual=1)
    block = net.res[0]
    for p in block.parameters():
        p.data[...] = 0  # the residual branch is zero: the block is the crop
    x = Tensor(rng.random((1, 3, 9, 9)).astype(np.float32))
    np.testing.assert_array_equal(block(x).data, x.data[:, :, 2:-2, 2:-2])


def test_bad_sizes_and_missing_styles_are_errors(rng):
    net = TransformNet("instance", channels=(2, 2, 2), num_residual=1)
    with pytest.raises(ValueError, match="multiple of 4"):
        net(_x(rng, 1, 14, 16))
    with pytest.raises(ValueError, match="at least 9 pixels"):
        net(_x(rng, 1, 8, 8))
    cond = TransformNet("conditional", channels=(2, 2, 2), num_residual=1, num_styles=2)
    with pytest.raises(ValueError, match="needs styles"):
        cond(_x(rng, 1, 12, 12))
    with pytest.raises(ValueError, match="norm must be"):
        TransformNet("layer")


def test_conditional_net_mixes_styles_through_its_norms(rng):
    net = TransformNet("conditional", channels=(2, 3, 4), num_residual=1, num_styles=3)
    for m in net.modules():
        if isinstance(m, nn.ConditionalInstanceNorm2d):
            m.gamma.data[...] = rng.uniform(0.5, 1.5, m.gamma.shape)
            m.beta.data[...] = rng.standard_normal(m.beta.shape)
    x = _x(rng, 1, 12, 12)
    a, b = net(x, np.array([0])).data, net(x, np.array([2])).data
    assert not np.allclose(a, b)
    np.testing.assert_allclose(net(x, np.array([[0.0, 0.0, 1.0]], np.float32)).data, b, rtol=1e-5, atol=1e-6)


def test_config_rebuilds_the_same_network(rng):
    net = TransformNet("batch", channels=(2, 3, 4), num_residual=2, padded=True, output_scale=127.5)
    twin = TransformNet(**net.config())
    twin.load_state_dict(net.state_dict())
    x = _x(rng, 2, 8, 8)
    np.testing.assert_array_equal(net.eval()(x).data, twin.eval()(x).data)
