"""The bundled networks load from the package alone and do what their README says."""
import os

import numpy as np
import pytest

from minigen import zoo
from minigen.data.mnist import load_mnist
from minigen.recipes.classifier import accuracy
from minigen.tensor import Tensor

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "mnist")


def test_every_bundled_file_is_there_and_small():
    for name in zoo.FILES:
        assert os.path.getsize(zoo.path(name)) < 1 << 20


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
