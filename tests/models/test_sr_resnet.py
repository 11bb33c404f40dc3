"""Johnson et al.'s x4 SR network: layout, exact x4 output in [0, 1]."""
import numpy as np

from minigen import nn
from minigen.models.sr_resnet import PerceptualSRNet, ResidualBlock
from minigen.tensor import Tensor


def test_layout_of_the_supplementary_x4_network():
    net = PerceptualSRNet()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    ups = [m for m in net.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert convs[0].weight.shape == (64, 3, 9, 9) and convs[-1].weight.shape == (3, 64, 9, 9)
    assert sum(isinstance(m, ResidualBlock) for m in net.modules()) == 4
    assert len(ups) == 2 and all(u.stride == (2, 2) and u.kernel_size == (3, 3) for u in ups)
    assert net.scale == 4


def test_output_is_four_times_larger_and_in_range():
    net = PerceptualSRNet(width=8, blocks=1)
    x = np.random.default_rng(0).random((2, 3, 5, 7)).astype(np.float32)
    out = net(Tensor(x)).numpy()
    assert out.shape == (2, 3, 20, 28)
    assert out.min() >= 0 and out.max() <= 1
    assert PerceptualSRNet(width=4, blocks=1, upsamplings=1)(Tensor(x)).shape == (2, 3, 10, 14)
