import inspect

import numpy as np
import pytest

import minigen.models as models
from minigen import nn
from minigen.errors import MinigenError
from minigen.models import registry


def _instances():
    """One small instance of every registered kind."""
    from minigen.models.adain import Decoder
    from minigen.models.autoencoder import VAE, Autoencoder, PairedAutoencoder
    from minigen.models.dcgan import DCGANDiscriminator, DCGANGenerator
    from minigen.models.dip import DIPNet, Downsampler
    from minigen.models.gan import MLPDiscriminator, MLPGenerator
    from minigen.models.lenet import LeNet5
    from minigen.models.sr_resnet import PerceptualSRNet
    from minigen.models.srcnn import SRCNN
    from minigen.models.texture_net import TextureNet
    from minigen.models.transform_net import TransformNet
    from minigen.models.vdsr import VDSR
    from minigen.models.vgg import VGG
    return [VGG(16, last="relu1_2"), TransformNet("conditional", (2, 3, 4), 1, num_styles=2, padded=True),
            TextureNet(3, 2, content=True, norm="instance"), Decoder("relu2_1", (4, 5, 6, 7, 8)),
            SRCNN((9, 5, 5), 5, 3), VDSR(3, 4), PerceptualSRNet(4, 1, 1), DIPNet(2, 3, (4, 4), (4, 4), (1, 0)),
            Downsampler((8, 12), 2, "cubic"), LeNet5(classes=4), Autoencoder("mlp", (1, 6, 6), (5,), 3),
            VAE("conv", (2, 8, 8), (3, 4), 2, classes=3), PairedAutoencoder("mlp", (1, 4, 4), (), 2, None, "gaussian"),
            MLPGenerator(3, (4,), (2,), output=None), MLPDiscriminator((1, 4, 4), (5,), dropout=0.2, classes=2),
            DCGANGenerator(28, 4, 2, classes=3), DCGANDiscriminator(64, 2, 3, batch_norm=False)]


def test_every_model_class_is_registered_and_rebuilds_from_its_config():
    built = {type(m) for m in _instances()}
    assert built == set(models.kinds().values())
    for m in _instances():
        spec = models.spec(m)
        twin = models.build(spec["kind"], spec["config"])
        assert type(twin) is type(m) and twin.config() == m.config()
        assert [p.shape for p in twin.parameters()] == [p.shape for p in m.parameters()]


def test_every_module_class_under_models_is_registered():
    """A new network file must register its classes (or they cannot be rebuilt from a checkpoint)."""
    kinds = set(models.kinds().values())
    helpers = set()
    for name in registry.MODULES:
        module = __import__(f"minigen.models.{name}", fromlist=["x"])
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, nn.Module) and cls.__module__ == module.__name__ and cls not in kinds:
                helpers.add(cls.__name__)
    # Building blocks used inside registered networks only.
    assert helpers == {"ConvLayer", "ResidualBlock", "_Coder", "_Generator", "_Discriminator"}


def test_build_refuses_unknown_kinds_and_bad_configs_in_one_line():
    with pytest.raises(MinigenError, match="unknown model kind 'nope'"):
        models.build("nope", {})
    with pytest.raises(MinigenError, match="cannot build a vdsr model"):
        models.build("vdsr", {"depth": 1})
    with pytest.raises(MinigenError, match="must be a mapping"):
        models.build("vdsr", [3])


def test_size_rule_and_check_size():
    rule = models.SizeRule(9, 4)
    assert [rule.fit(s) for s in (1, 9, 12, 13)] == [12, 12, 12, 16]
    from minigen.models.texture_net import TextureNet
    net = TextureNet(3, 2)
    models.check_size(net, 8, 12)
    with pytest.raises(ValueError, match="multiple of 4"):
        models.check_size(net, 8, 10)
    with pytest.raises(ValueError, match="at least 4 pixels"):
        models.check_size(net, 2, 8)


def test_texture_net_samples_crop_the_rounded_up_output():
    from minigen.models.texture_net import TextureNet
    net = TextureNet(3, 2)
    a = net.sample(2, 10, 6, np.random.default_rng(0))
    full = net(net.noise(2, 12, 8, np.random.default_rng(0), np.float32))
    assert a.shape == (2, 3, 10, 6)
    np.testing.assert_array_equal(a, full.numpy()[:, :, :10, :6].clip(0, 1))
    with pytest.raises(ValueError, match="does not sample"):
        TextureNet(3, 2, content=True).sample(1, 8, 8, np.random.default_rng(0))
