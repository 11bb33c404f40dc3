"""AdaIN: the decoder mirrors VGG-19 up to relu4_1 / relu3_1; the target's trade-off and interpolation."""
import numpy as np
import pytest

from minigen import nn
from minigen.models.adain import Decoder, adain_target
from minigen.tensor import Tensor


def _layers(dec):
    out = []
    for m in dec.body:
        if isinstance(m, nn.Conv2d):
            assert m.kernel_size == (3, 3) and m.padding_mode == "reflect"
            out.append((m.in_channels, m.out_channels))
        elif isinstance(m, nn.Upsample):
            assert m.scale_factor == 2 and m.mode == "nearest"
            out.append("up")
        else:
            out.append(type(m).__name__)
    return out


def test_relu4_1_decoder_is_the_papers():
    conv_relu = lambda a, b: [(a, b), "ReLU"]  # noqa: E731
    expected = (conv_relu(512, 256) + ["up"] + conv_relu(256, 256) * 3 + conv_relu(256, 128) + ["up"]
                + conv_relu(128, 128) + conv_relu(128, 64) + ["up"] + conv_relu(64, 64) + [(64, 3)])
    dec = Decoder("relu4_1")
    assert _layers(dec) == expected
    assert dec.size_rule().multiple == 8 and not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))
                                             for m in dec.modules())


def test_relu3_1_decoder_and_sizes(rng):
    dec = Decoder("relu3_1", widths=(4, 5, 6, 7, 7))
    assert _layers(dec) == [(6, 5), "ReLU", "up", (5, 5), "ReLU", (5, 4), "ReLU", "up", (4, 4), "ReLU", (4, 3)]
    assert dec(Tensor(rng.random((2, 6, 3, 5)).astype(np.float32))).shape == (2, 3, 12, 20)
    assert Decoder("relu3_1", depth=16).size_rule().multiple == 4
    with pytest.raises(ValueError, match="relu layer"):
        Decoder("conv3_1")


def _stats(x):
    return x.mean(axis=(2, 3)), x.std(axis=(2, 3))


def test_target_moments_trade_off_and_interpolation(rng):
    fc = Tensor(rng.standard_normal((2, 4, 5, 5)))
    s1 = Tensor(rng.standard_normal((1, 4, 3, 3)) * 3 + 1)
    s2 = Tensor(rng.standard_normal((1, 4, 6, 6)) * 0.5 - 2)
    t = adain_target(fc, s1).data
    for a, b in zip(_stats(t), _stats(np.broadcast_to(s1.data, (2, 4, 3, 3)))):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(adain_target(fc, s1, alpha=0.0).data, fc.data)
    np.testing.assert_allclose(adain_target(fc, s1, alpha=0.25).data, 0.25 * t + 0.75 * fc.data, atol=1e-12)
    np.testing.assert_allclose(adain_target(fc, [s1, s2], [1.0, 0.0]).data, t)
    mix = adain_target(fc, [s1, s2], [0.5, 0.5]).data
    np.testing.assert_allclose(mix, 0.5 * t + 0.5 * adain_target(fc, s2).data, atol=1e-12)
    with pytest.raises(ValueError, match="one weight per style"):
        adain_target(fc, [s1, s2], [1.0])


def test_a_fresh_decoder_for_the_bundled_vgg_starts_at_pixel_scale():
    """The bundled VGG-19 (caffe convention) reads pixels times 255, so its relu3_1 features have an RMS
    of about 300. train-style's decoder for it scales its input by 1/255 (models.adain input_scale):
    a freshly initialised decoder then paints values inside [0, 1]; without the scale they had an RMS
    of ~7 (the relative content error started at 37 instead of 0.7, and the training stalled)."""
    from minigen import backend, models
    from minigen.data.procedural import scenes
    from minigen.recipes.feedforward.methods import METHODS, feature_net
    vgg, info = feature_net("bundled")
    config = METHODS["adain"].config({}, 1, info, "relu3_1", None)
    assert info["convention"] == "caffe" and config["input_scale"] == pytest.approx(1 / 255)
    t = vgg(Tensor(scenes(1, 32, seed=0)), ["relu3_1"])["relu3_1"]
    rms = {}
    for scale in (config["input_scale"], 1.0):
        backend.manual_seed(0)
        decoder = models.build("adain-decoder", dict(config, input_scale=scale))
        rms[scale] = float(np.sqrt((decoder(t).data ** 2).mean()))
    assert rms[config["input_scale"]] < 0.5 and rms[1.0] > 3, rms


def test_the_input_scale_multiplies_the_decoders_input():
    a, b = Decoder("relu2_1", widths=(2, 3, 4, 5, 5), input_scale=0.25), Decoder("relu2_1", widths=(2, 3, 4, 5, 5))
    b.load_state_dict(a.state_dict())
    t = np.random.default_rng(0).standard_normal((1, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(a(Tensor(t)).data, b(Tensor(t * 0.25)).data, rtol=1e-6)
    assert a.config()["input_scale"] == 0.25 and Decoder("relu2_1").config()["input_scale"] == 1.0
