"""LeNet-5: the layer shapes of the paper's network, 84 features, the model protocol."""
import numpy as np

from minigen import models
from minigen.gradcases import run, select
from minigen.models.lenet import LeNet5
from minigen.tensor import Tensor


def test_layers_and_parameter_count():
    net = LeNet5()
    shapes = [p.shape for p in net.parameters()]
    assert shapes == [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
                      (10, 84), (10,)]
    # C1 156 + C3 2,416 + F5 48,120 + F6 10,164 + output 850
    assert sum(int(np.prod(s)) for s in shapes) == 61706


def test_outputs_and_features():
    net = LeNet5()
    x = Tensor(np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32))
    assert net(x).shape == (3, 10)
    f = net.features(x)
    assert f.shape == (3, 84) and f.numpy().min() >= 0  # after the ReLU
    np.testing.assert_allclose(net.out(f).numpy(), net(x).numpy(), rtol=1e-6)


def test_protocol_rebuilds_it():
    net = LeNet5(classes=7)
    again = models.build("lenet", net.config())
    assert isinstance(again, LeNet5) and again.out.weight.shape == (7, 84)
    assert net.size_rule() == models.SizeRule(28, 28)


def test_gradient_matches_finite_differences():
    (case,) = select("models/lenet")
    assert run(case).passed
