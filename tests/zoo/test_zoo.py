"""The bundled networks load from the package alone and do what their README says."""
import os

import numpy as np
import pytest

from minigen import zoo
from minigen.data.mnist import load_mnist
from minigen.recipes.classifier import accuracy
from minigen.tensor import Tensor

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")


def test_every_bundled_file_is_there_and_all_of_them_fit_the_budget():
    """The trained networks (not the VGG-19 feature weights) stay under 8 MB in all."""
    sizes = {name: os.path.getsize(zoo.path(name)) for name in zoo.FILES}
    assert sum(sizes.values()) < 8e6, sizes


@pytest.mark.parametrize("name", ["vdsr", "srcnn", "perceptual", "johnson", "multistyle", "texture-net", "adain"])
def test_the_trained_generators_rebuild_from_float16_files(name):
    net, ckpt = zoo.load_network(name)
    assert not ckpt.optimizers and not ckpt.ema and ckpt.extra["exported"] == {"float16": True}
    assert all(v.dtype == np.float16 for v in ckpt.modules["net"].values() if v.dtype.kind == "f")
    assert all(p.data.dtype == np.float32 for p in net.parameters())  # cast back on loading
    assert ckpt.step > 0 and ckpt.settings  # the run that made it, for its README command


def test_the_lenet_rebuilds_from_its_file():
    net, ckpt = zoo.load_network("lenet5")
    assert net.kind == "lenet" and not net.training and ckpt.kind == "classifier"
    assert ckpt.extra["test_accuracy"] >= 0.99 and not ckpt.optimizers
    assert net(Tensor(np.zeros((1, 1, 28, 28), np.float32))).shape == (1, 10)


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="../shared/data/mnist is not here")
def test_the_lenet_classifies_2000_mnist_test_digits():
    test = load_mnist("test", SHARED)
    pick = np.random.default_rng(0).choice(len(test.images), 2000, replace=False)
    net, _ = zoo.load_network("lenet5")
    assert accuracy(net, test.images[pick], test.labels[pick]) >= 0.985


SR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "sr", "Set5")


@pytest.mark.skipif(not os.path.isdir(SR), reason="../shared/data/sr/Set5 is not here")
@pytest.mark.parametrize("name, gain", [("vdsr", 1.5), ("srcnn", 1.0)])
def test_the_bundled_sr_networks_beat_bicubic_on_set5_x3(name, gain):
    """The papers' protocol (the project's own metrics): Y of the 8-bit HR, mod-cropped; LR = imresize(HR, 1/3);
    bicubic = imresize(LR, 3); PSNR on Y with a border of 3 removed, outputs rounded to 8 bits. Bicubic:
    30.39 dB, as Kim et al. report it. VDSR must gain at least 1.5 dB, SRCNN 1 dB."""
    from minigen.data.datasets import list_images, load_y, quantize
    from minigen.data.imresize import imresize
    from minigen.metrics import mod_crop, psnr_y
    from minigen.recipes.sr import load_sr_model, restore_luma
    model, _ = load_sr_model(name)
    bic, net = [], []
    for path in list_images(SR):
        hr = mod_crop(load_y(path).astype(np.float64), 3)
        up = imresize(imresize(hr, 1 / 3), 3)
        bic.append(psnr_y(quantize(up), hr, 3))
        net.append(psnr_y(quantize(restore_luma(model, up)), hr, 3))
    assert np.mean(bic) == pytest.approx(30.39, abs=0.01)
    assert np.mean(net) >= np.mean(bic) + gain, (np.mean(bic), np.mean(net))
