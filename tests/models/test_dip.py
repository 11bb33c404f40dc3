"""The Deep Image Prior network, its input codes and the fixed SR downsampler."""
import numpy as np
import pytest

from minigen import gradcases
from minigen.data.imresize import imresize
from minigen.models.dip import DIPNet, Downsampler, dip_net, input_noise, resize_matrix
from minigen.tensor import Tensor


def _small(arch="skip"):
    return dip_net(arch, in_channels=4, out_channels=3, down=(8, 8, 8), up=(8, 8, 8), skip=(2, 2, 2))


def test_default_net_has_the_papers_parameter_count():
    # 5 scales of 128 down / 128 up / 4 skip channels, 32 input and 3 output channels.
    assert sum(p.data.size for p in dip_net("skip").parameters()) == 2_217_831
    assert sum(p.data.size for p in dip_net("hourglass").parameters()) == 2_192_515


@pytest.mark.parametrize("arch", ["skip", "hourglass"])
@pytest.mark.parametrize("hw", [(9, 9), (16, 24), (21, 10)])
def test_output_has_the_input_size_in_0_1(arch, hw):
    net = _small(arch)
    y = net(Tensor(input_noise(4, *hw)))
    assert y.shape == (1, 3, *hw)
    assert 0 < y.data.min() and y.data.max() < 1  # sigmoid output


def test_hourglass_has_no_skip_branches_and_skip_uses_them():
    skip, hourglass = _small("skip"), _small("hourglass")
    assert not any(len(s) for s in hourglass.skips) and all(len(s) == 3 for s in skip.skips)
    # The deepest up block of the skip net reads skip + deeper channels.
    assert skip.up[2][0].num_features == 2 + 8 and hourglass.up[2][0].num_features == 8


def test_the_net_uses_reflection_padding_and_leaky_relu():
    net = _small()
    convs = [m for m in net.modules() if type(m).__name__ == "Conv2d" and m.kernel_size == (3, 3)]
    assert convs and all(c.padding_mode == "reflect" for c in convs)
    slopes = {m.negative_slope for m in net.modules() if type(m).__name__ == "LeakyReLU"}
    assert slopes == {0.2}


def test_too_small_an_input_is_refused_with_the_minimum():
    net = _small()
    assert DIPNet(2, 3, (4,) * 3, (4,) * 3, (1,) * 3).size_rule().minimum == 9
    net(Tensor(input_noise(4, 9, 9)))  # the minimum works
    with pytest.raises(ValueError, match="at least 9 pixels"):
        net(Tensor(input_noise(4, 8, 12)))
    with pytest.raises(ValueError, match=r"expected input \(N, 4, H, W\)"):
        net(Tensor(input_noise(3, 9, 9)))


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="one entry per scale"):
        DIPNet(down=(8, 8), up=(8,), skip=(4,))
    with pytest.raises(ValueError, match="upsample"):
        DIPNet(upsample="bicubic")
    with pytest.raises(ValueError, match="arch"):
        dip_net("unet")


def test_activation_estimate_scales_with_the_pixels():
    net = dip_net()
    small, large = net.activation_bytes(128, 128), net.activation_bytes(256, 256)
    assert 3.9 < large / small < 4.1
    assert 3 * 2 ** 30 < net.activation_bytes(512, 512) < 4 * 2 ** 30  # 3.3 GiB (peak resident measured: 4.6 GiB)


def test_input_noise_kinds():
    z = input_noise(32, 10, 12, rng=np.random.default_rng(0))
    assert z.shape == (1, 32, 10, 12) and z.dtype == np.float32 and 0 <= z.min() and z.max() < 0.1
    assert z.std() > 0.02  # noise, not a constant
    grid = input_noise(2, 3, 5, kind="meshgrid")
    np.testing.assert_allclose(grid[0, 0, 0], np.linspace(0, 1, 5))   # x along the width
    np.testing.assert_allclose(grid[0, 1, :, 0], [0, 0.5, 1])        # y along the height
    with pytest.raises(ValueError, match="2 channels"):
        input_noise(3, 4, 4, kind="meshgrid")
    with pytest.raises(ValueError, match="kind"):
        input_noise(3, 4, 4, kind="gaussian")


@pytest.mark.parametrize("kernel", ["lanczos3", "cubic"])
@pytest.mark.parametrize("factor,hw", [(4, (32, 24)), (2, (10, 14)), (3, (9, 12))])
def test_downsampler_equals_imresize(kernel, factor, hw):
    img = np.random.default_rng(0).random((*hw, 3))
    down = Downsampler(hw, factor, kernel).to(dtype=np.float64)
    y = down(Tensor(img.transpose(2, 0, 1)[None])).data[0].transpose(1, 2, 0)
    assert y.shape == (hw[0] // factor, hw[1] // factor, 3)
    np.testing.assert_allclose(y, imresize(img, 1 / factor, kernel=kernel), rtol=0, atol=1e-12)


def test_downsampler_keeps_constants_and_its_gradient_is_the_adjoint():
    down = Downsampler((12, 8), 4).to(dtype=np.float64)
    flat = down(Tensor(np.full((1, 2, 12, 8), 0.3))).data
    np.testing.assert_allclose(flat, 0.3, atol=1e-12)  # rows of weights sum to one
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((1, 2, 12, 8)), requires_grad=True)
    g = rng.standard_normal((1, 2, 3, 2))
    (down(x) * Tensor(g)).sum().backward()
    d_h, d_w = resize_matrix(12, 3), resize_matrix(8, 2)
    np.testing.assert_allclose(x.grad, d_h.T @ g @ d_w, rtol=0, atol=1e-12)  # D_H^T g D_W
    # <d(x), g> = <x, d^T(g)>
    np.testing.assert_allclose((down(x).data * g).sum(), (x.data * x.grad).sum(), rtol=1e-12)


def test_downsampler_refuses_sizes_not_divisible_by_the_factor():
    with pytest.raises(ValueError, match="not divisible by the factor 4"):
        Downsampler((10, 12), 4)
    with pytest.raises(ValueError, match=r"expected \(N, C, 8, 8\)"):
        Downsampler((8, 8), 2)(Tensor(np.zeros((1, 3, 8, 6), np.float32)))


@pytest.mark.parametrize("name", ["models/dip/skip", "models/dip/hourglass", "models/dip/downsampler"])
def test_gradient_matches_finite_differences(name):
    (c,) = gradcases.select(name)
    report = gradcases.run(c)
    assert report.passed, report.summary()
